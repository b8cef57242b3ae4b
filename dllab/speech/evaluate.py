"""The speech benchmark: the lab's voices heard by Whisper base, as a listener would hear them.

Each text of a fixed French set (the question set's questions and reference answers written from the
documents) is said in both voices, in the pieces the chatbot says that voice's texts in (the answer voice's
first piece short, as while an answer streams; the question voice's sentences whole), and transcribed. Results:
- quality (the same for the same inputs; ``reports/speech/metrics.json``): the word error rate of each voice
  on all texts, on the questions (the round trip a spoken question takes through ``/transcribe``) and on the
  answers, each voice's median pitch and how many semitones apart the two voices are;
- speed (``timings``, for the stage's record): the real-time factor of each voice, the time from a complete
  first sentence to its audio (its synthesis), and Whisper's own real-time factor.
"""
from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from dllab.errors import DataError
from dllab.speech import measure, wav
from dllab.speech.config import ROLES
from dllab.speech.text import FIRST_PIECE_MAX_CHARS, SentenceCutter

SENTENCE_MAX_CHARS = 300  # as the chat service cuts an answer (dllab.chat.service.SENTENCE_MAX_CHARS)


@dataclass(frozen=True)
class Text:
    kind: str  # "question" or "answer"
    text: str


@dataclass
class Heard:
    voice: str  # the role whose voice said it
    text: Text
    transcript: str
    audio_s: float
    synth_s: float
    first_sentence_s: float  # synthesis of the first piece: how long its audio takes once it is complete
    pitch_hz: float | None
    recognise_s: float


def load_answers(path: str | Path) -> list[dict]:
    """The reference answers: a YAML list of {question, answer}; DataError naming the file otherwise."""
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read the reference answers ({exc})") from None
    if not isinstance(entries, list) or not entries or not all(
            isinstance(e, dict) and isinstance(e.get("answer"), str) and e["answer"].strip() for e in entries):
        raise DataError(f"{path}: expected a list of entries, each with a non-empty 'answer' text")
    return entries


def benchmark_texts(questions: list[str], answers: list[dict], first_questions: int, first_answers: int) -> list[Text]:
    """The first ``first_questions`` questions, then the first ``first_answers`` reference answers (0 = all)."""
    questions = questions if first_questions == 0 else questions[:first_questions]
    answers = answers if first_answers == 0 else answers[:first_answers]
    return [Text("question", q) for q in questions] + [Text("answer", " ".join(a["answer"].split())) for a in answers]


def sentences(text: str, role: str = "answer", first_piece_chars: int = FIRST_PIECE_MAX_CHARS) -> list[str]:
    """``text`` in the pieces the chat service says it in ``role``'s voice: an answer's first piece short (see
    ``SentenceCutter``), a question's sentences whole (the service says a question in one clip)."""
    cutter = SentenceCutter(SENTENCE_MAX_CHARS, first_clause=role == "answer", first_piece_chars=first_piece_chars)
    return cutter.feed(text + " ") + cutter.rest()


def hear_all(speaker, transcriber, texts: list[Text], progress=None) -> list[Heard]:
    """Every text said in each voice (sentence by sentence, then joined) and transcribed."""
    from dllab.speech.transcribe import decode

    heard = []
    for role in ROLES:
        for item in texts:
            clips = [speaker.speak(sentence, role) for sentence in sentences(item.text, role)]
            joined = speaker.concatenate(clips, role)
            data = joined.path.read_bytes()
            samples, rate = wav.read_pcm(data)
            started = time.perf_counter()
            transcript = transcriber.transcribe_samples(decode(data, max_seconds=float("inf"))).text
            heard.append(Heard(role, item, transcript, joined.seconds, sum(c.synth_seconds for c in clips),
                               clips[0].synth_seconds, measure.median_pitch_hz(samples, rate),
                               time.perf_counter() - started))
            if progress:
                progress(1)
    return heard


def metrics(heard: list[Heard], engine: str, voices: dict[str, str]) -> dict:
    """Quality only (no times): word error rates, pitch, the distance between the voices."""
    result = {"engine": engine}
    pitch = {}
    for role in ROLES:
        mine = [h for h in heard if h.voice == role]
        pitched = [h.pitch_hz for h in mine if h.pitch_hz]
        pitch[role] = statistics.median(pitched) if pitched else None
        result[f"{role}_voice"] = {
            "voice": voices[role],
            "wer": _wer(mine),
            "wer_questions": _wer([h for h in mine if h.text.kind == "question"]),
            "wer_answers": _wer([h for h in mine if h.text.kind == "answer"]),
            "words": sum(len(measure.words(h.text.text)) for h in mine),
            "pitch_hz": round(pitch[role], 1) if pitch[role] else None,
        }
    result["question_round_trip_wer"] = result["question_voice"]["wer_questions"]
    result["pitch_semitones_apart"] = (round(abs(measure.semitones(pitch["answer"], pitch["question"])), 2)
                                       if pitch["answer"] and pitch["question"] else None)
    result["texts"] = {"questions": sum(h.text.kind == "question" for h in heard) // len(ROLES),
                       "answers": sum(h.text.kind == "answer" for h in heard) // len(ROLES)}
    return result


def timings(heard: list[Heard]) -> dict:
    """Speeds, for the stage's record: they vary from run to run."""
    result = {}
    for role in ROLES:
        mine = [h for h in heard if h.voice == role]
        result[f"{role}_real_time_factor"] = round(sum(h.synth_s for h in mine) / sum(h.audio_s for h in mine), 4)
    firsts = sorted(h.first_sentence_s for h in heard if h.voice == "answer" and h.text.kind == "answer")
    result["first_audio_s_p50"] = round(statistics.median(firsts), 3)
    result["first_audio_s_max"] = round(firsts[-1], 3)
    result["whisper_real_time_factor"] = round(sum(h.recognise_s for h in heard) / sum(h.audio_s for h in heard), 4)
    return result


def transcripts(heard: list[Heard]) -> list[dict]:
    return [{"voice": h.voice, "kind": h.text.kind, "text": h.text.text, "heard": h.transcript,
             "wer": round(measure.word_error_rate([h.text.text], [h.transcript]), 4)} for h in heard]


def keep_clips(speaker, heard: list[Heard], out: Path) -> list[str]:
    """The first question and the first answer in each voice, as WAV files in ``out`` (for the report)."""
    out.mkdir(parents=True, exist_ok=True)
    kept = []
    for role in ROLES:
        for kind in ("question", "answer"):
            item = next(h for h in heard if h.voice == role and h.text.kind == kind)
            clips = [speaker.speak(sentence, role) for sentence in sentences(item.text.text, role)]  # from the cache
            name = f"{role}_voice-{kind}.wav"
            shutil.copyfile(speaker.concatenate(clips, role).path, out / name)
            kept.append(name)
    return kept


def _wer(heard: list[Heard]) -> float | None:
    if not heard:
        return None
    return round(measure.word_error_rate([h.text.text for h in heard], [h.transcript for h in heard]), 4)

