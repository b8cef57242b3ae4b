"""The ``tts`` section of params.yaml: what each key may hold.

Voices differ per engine, so ``question_voice`` and ``answer_voice`` are mappings with one voice per
engine (``{espeak: fr+m3, bark: v2/fr_speaker_1}``); ``engine: auto`` then works whichever it picks.
"""
from dllab.params import Rule, boolean, integer, number, one_of, text

ENGINES = ("espeak", "bark")
ROLES = ("question", "answer")


def mapping(**rules: Rule) -> Rule:
    """A mapping with exactly the keys of ``rules``, each checked by its rule."""

    def convert(value):
        if not isinstance(value, dict) or set(value) != set(rules):
            raise ValueError
        return {key: rule.convert(value[key]) for key, rule in rules.items()}

    described = ", ".join(f"{key}: {rule.allowed}" for key, rule in rules.items())
    return Rule(convert, f"a mapping {{{described}}}")


VOICE = mapping(espeak=text(), bark=text())

SPEC = {
    "engine": one_of("auto", *ENGINES),
    "question_voice": VOICE,
    "answer_voice": VOICE,
    "espeak_speed": integer(min=80, max=450),
    "espeak_pitch": mapping(question=integer(min=0, max=99), answer=integer(min=0, max=99)),
    "bark_small": boolean(),
    "bark_sentence_chars": integer(min=40, max=400),
    "bark_temperature": number(above=0, max=1.5),
    "max_chars": integer(min=1, max=100_000),
    "cache_max_files": integer(min=2),
    "cache_max_mb": number(above=0),
}
# The serve stage and web/serve.py read the whole section.
KEYS = list(SPEC)
