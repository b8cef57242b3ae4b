"""Measures of speech: how intelligible a voice is (word error rate of a speech recognizer hearing it) and
how far apart two voices sound (their pitch).

Word error rate compares words after a normalisation that keeps what a listener hears and drops what only
writing shows: case, accents, punctuation, hyphens and apostrophes, and numbers written in digits
(« 180 » and « cent quatre-vingts » are the same words). The pitch is the median fundamental frequency of
the voiced frames, from a plain autocorrelation tracker; two voices are compared in semitones.
"""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
PITCH_RANGE_HZ = (60, 400)
FRAME_S = 0.04


def words(text: str, language: str = "fr") -> list[str]:
    """The words a listener hears in ``text``, normalised as the module says."""
    from num2words import num2words

    def spelled(match: re.Match) -> str:
        number = match.group().replace(",", ".")
        return f" {num2words(float(number) if '.' in number else int(number), lang=language)} "

    text = _NUMBER.sub(spelled, text.replace("°", " degrés "))
    text = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.findall(r"[a-z0-9]+", text)


def word_error_rate(references: list[str], heard: list[str], language: str = "fr") -> float:
    """Substitutions, deletions and insertions over the reference words, pooled over all texts (jiwer)."""
    import jiwer

    if len(references) != len(heard) or not references:
        raise ValueError("word_error_rate needs as many transcripts as references, at least one")
    refs = [" ".join(words(text, language)) for text in references]
    hyps = [" ".join(words(text, language)) for text in heard]
    return float(jiwer.wer(refs, hyps))


def median_pitch_hz(samples: np.ndarray, rate: int) -> float | None:
    """Median fundamental frequency of the voiced 40 ms frames (autocorrelation peak between 60 and 400 Hz);
    None when no frame is loud enough to be voiced."""
    audio = np.asarray(samples, dtype=np.float64)
    if np.asarray(samples).dtype.kind in "iu":  # 16-bit PCM
        audio = audio / 32768.0
    size = int(FRAME_S * rate)
    shortest, longest = int(rate / PITCH_RANGE_HZ[1]), int(rate / PITCH_RANGE_HZ[0])
    loud = 0.1 * np.abs(audio).max(initial=0)
    estimates = []
    for start in range(0, len(audio) - size, size):
        frame = audio[start:start + size]
        if np.sqrt(np.mean(frame ** 2)) < loud / 3:  # silence or a quiet consonant
            continue
        frame = frame - frame.mean()
        correlation = np.correlate(frame, frame, "full")[size - 1:]
        if correlation[0] <= 0:
            continue
        lag = shortest + int(np.argmax(correlation[shortest:longest]))
        if correlation[lag] > 0.3 * correlation[0]:  # periodic enough to be voiced
            estimates.append(rate / lag)
    return float(np.median(estimates)) if estimates else None


def semitones(high_hz: float, low_hz: float) -> float:
    """How many semitones ``high_hz`` is above ``low_hz`` (12 per octave)."""
    return 12 * math.log2(high_hz / low_hz)
