"""The ``tts``, ``stt`` and ``speech_evaluate`` sections of params.yaml.

Voices differ per engine, so ``question_voice`` and ``answer_voice`` are mappings with one voice per
engine (``{kokoro: ff_siwis, espeak: fr+m3, bark: v2/fr_speaker_1}``); ``engine: auto`` then works whichever
it picks. A Kokoro voice is one of its voice files or a blend of them (``0.7*ff_siwis+0.3*am_michael``).
"""
from typing import ClassVar

from dllab.params import Section, boolean, integer, number, one_of, text

ENGINES = ("kokoro", "bark", "espeak")  # the order in which `auto` tries them
ROLES = ("question", "answer")


class VoicePerEngine(Section):
    """One voice per engine, so that whichever engine speaks has its voice."""

    kokoro: text()
    espeak: text()
    bark: text()

    def of(self, engine: str) -> str:
        return getattr(self, engine)


class KokoroSpeeds(Section):
    question: number(min=0.5, max=2.0) = 1.0  # 1 = the voice's own pace
    answer: number(min=0.5, max=2.0) = 1.0

    def of(self, role: str) -> float:
        return getattr(self, role)


class EspeakPitches(Section):
    question: integer(min=0, max=99) = 40  # with the variants, keeps the two voices apart
    answer: integer(min=0, max=99) = 60

    def of(self, role: str) -> int:
        return getattr(self, role)


class TtsParams(Section):
    section: ClassVar[str] = "tts"

    engine: one_of("auto", *ENGINES) = "auto"  # auto: the first of ENGINES whose files are here
    # The question's Kokoro blend was chosen by `python bench/speech.py --choose` (reports/bench).
    question_voice: VoicePerEngine = VoicePerEngine(kokoro="0.5*ff_siwis+0.5*am_echo", espeak="fr+m3",
                                                    bark="v2/fr_speaker_1")
    answer_voice: VoicePerEngine = VoicePerEngine(kokoro="ff_siwis", espeak="fr+f3", bark="v2/fr_speaker_5")
    kokoro_speed: KokoroSpeeds = KokoroSpeeds()
    espeak_speed: integer(min=80, max=450) = 165   # words per minute
    espeak_pitch: EspeakPitches = EspeakPitches()
    bark_small: boolean() = True                    # Bark's small models: several times faster on CPU
    bark_sentence_chars: integer(min=40, max=400) = 180  # Bark says ~13 s well in one go: longer text is cut
    bark_temperature: number(above=0, max=1.5) = 0.7
    question_chars: integer(min=20, max=100_000) = 200   # a longer question is said up to here
    max_chars: integer(min=1, max=100_000) = 4000        # longest text spoken at once
    cache_max_files: integer(min=2) = 500           # audio cache: least recently used clips go beyond these
    cache_max_mb: number(above=0) = 200.0

    _COMMON: ClassVar[tuple[str, ...]] = ("question_voice", "answer_voice", "question_chars", "max_chars",
                                          "cache_max_files", "cache_max_mb")
    # The keys each engine reads beside `engine` (chat_evaluate speaks with espeak-ng alone: it measures the
    # answers' text, speech_evaluate the voices).
    VOICE_KEYS: ClassVar[dict[str, tuple[str, ...]]] = {
        "kokoro": _COMMON + ("kokoro_speed",),
        "espeak": _COMMON + ("espeak_speed", "espeak_pitch"),
        "bark": _COMMON + ("bark_small", "bark_sentence_chars", "bark_temperature"),
    }

    def voice(self, role: str, engine: str) -> str:
        return (self.question_voice if role == "question" else self.answer_voice).of(engine)


class SttParams(Section):
    """Speech to text (POST /transcribe): Whisper through faster-whisper."""

    section: ClassVar[str] = "stt"

    language: text() = "fr"         # the language Whisper is told to hear; "auto" lets it detect
    beam_size: integer(min=1, max=10) = 5
    max_seconds: number(above=0, max=600) = 30.0  # longest recording accepted
    max_mb: number(above=0, max=100) = 4.0        # largest upload


class SpeechEvaluateParams(Section):
    """The speech benchmark: how many of the question set's questions and of the reference answers are said
    (0 = all)."""

    section: ClassVar[str] = "speech_evaluate"

    questions: integer(min=0) = 15
    answers: integer(min=0) = 0
