"""The ``tts`` and ``stt`` sections of params.yaml: what each key may hold.

Voices differ per engine, so ``question_voice`` and ``answer_voice`` are mappings with one voice per
engine (``{kokoro: ff_siwis, espeak: fr+m3, bark: v2/fr_speaker_1}``); ``engine: auto`` then works whichever
it picks. A Kokoro voice is one of its voice files or a blend of them (``0.7*ff_siwis+0.3*am_michael``).
"""
from dllab.params import Rule, boolean, integer, number, one_of, text

ENGINES = ("kokoro", "bark", "espeak")  # the order in which `auto` tries them
ROLES = ("question", "answer")


def mapping(**rules: Rule) -> Rule:
    """A mapping with exactly the keys of ``rules``, each checked by its rule."""

    def convert(value):
        if not isinstance(value, dict) or set(value) != set(rules):
            raise ValueError
        return {key: rule.convert(value[key]) for key, rule in rules.items()}

    described = ", ".join(f"{key}: {rule.allowed}" for key, rule in rules.items())
    return Rule(convert, f"a mapping {{{described}}}")


VOICE = mapping(kokoro=text(), espeak=text(), bark=text())

SPEC = {
    "engine": one_of("auto", *ENGINES),
    "question_voice": VOICE,
    "answer_voice": VOICE,
    "kokoro_speed": mapping(question=number(min=0.5, max=2.0), answer=number(min=0.5, max=2.0)),
    "espeak_speed": integer(min=80, max=450),
    "espeak_pitch": mapping(question=integer(min=0, max=99), answer=integer(min=0, max=99)),
    "bark_small": boolean(),
    "bark_sentence_chars": integer(min=40, max=400),
    "bark_temperature": number(above=0, max=1.5),
    "question_chars": integer(min=20, max=100_000),
    "max_chars": integer(min=1, max=100_000),
    "cache_max_files": integer(min=2),
    "cache_max_mb": number(above=0),
}
# The serve stage and web/serve.py read the whole section.
KEYS = list(SPEC)
_COMMON = ["question_voice", "answer_voice", "question_chars", "max_chars", "cache_max_files", "cache_max_mb"]
# The keys each engine reads beside `engine` (chat_evaluate speaks with espeak-ng alone: it measures the
# answers' text, speech_evaluate the voices).
VOICE_KEYS = {
    "kokoro": _COMMON + ["kokoro_speed"],
    "espeak": _COMMON + ["espeak_speed", "espeak_pitch"],
    "bark": _COMMON + ["bark_small", "bark_sentence_chars", "bark_temperature"],
}
ENGINE_KEYS = {"auto": KEYS, **{name: ["engine", *keys] for name, keys in VOICE_KEYS.items()}}

# Speech to text (POST /transcribe): Whisper through faster-whisper.
STT_SPEC = {
    "language": text(),             # the language Whisper is told to hear ("fr"); "auto" lets it detect
    "beam_size": integer(min=1, max=10),
    "max_seconds": number(above=0, max=600),
    "max_mb": number(above=0, max=100),
}
STT_KEYS = list(STT_SPEC)

# The speech benchmark (speech_evaluate): how many of the question set's questions and of the reference
# answers are said (0 = all).
EVALUATE_SPEC = {"questions": integer(min=0), "answers": integer(min=0)}
