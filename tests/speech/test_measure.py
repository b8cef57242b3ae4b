"""Word error rate as a listener would count it, and the pitch tracker, on texts and tones made here."""
import numpy as np
import pytest

from dllab.speech import measure


def tone(hz: float, seconds: float = 1.0, rate: int = 24_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    # a voice-like tone: the fundamental and two harmonics
    return (0.5 * np.sin(2 * np.pi * hz * t) + 0.25 * np.sin(4 * np.pi * hz * t) + 0.1 * np.sin(6 * np.pi * hz * t))


def test_words_drop_what_only_writing_shows():
    assert measure.words("Préchauffez le four à 180 °C !") == \
        ["prechauffez", "le", "four", "a", "cent", "quatre", "vingts", "degres", "c"]
    assert measure.words("L'œuf, c'est-à-dire") == ["l", "oeuf", "c", "est", "a", "dire"]
    assert measure.words("2,5 kg") == measure.words("deux virgule cinq kg")


def test_word_error_rate_counts_substitutions_deletions_and_insertions_over_all_references():
    assert measure.word_error_rate(["le four est chaud"], ["le four est chaud"]) == 0
    assert measure.word_error_rate(["le four est chaud"], ["le fou est chaud"]) == pytest.approx(0.25)
    # pooled: 1 error over 4 + 2 reference words
    assert measure.word_error_rate(["le four est chaud", "une tarte"], ["le four chaud", "une tarte"]) == \
        pytest.approx(1 / 6)
    assert measure.word_error_rate(["cent quatre-vingts degrés"], ["180 degrés"]) == 0
    assert measure.word_error_rate(["oui"], ["oui oui oui"]) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        measure.word_error_rate(["a"], [])


@pytest.mark.parametrize("hz", [95.0, 150.0, 210.0, 320.0])
def test_the_pitch_of_a_tone_is_its_fundamental(hz):
    assert measure.median_pitch_hz(tone(hz), 24_000) == pytest.approx(hz, rel=0.03)
    pcm = (tone(hz) * 20000).astype("<i2")  # 16-bit samples give the same answer
    assert measure.median_pitch_hz(pcm, 24_000) == pytest.approx(hz, rel=0.03)


def test_silence_and_noise_have_no_pitch_and_semitones_count_octaves():
    assert measure.median_pitch_hz(np.zeros(24_000), 24_000) is None
    noise = np.random.default_rng(0).normal(0, 0.3, 24_000)
    assert measure.median_pitch_hz(noise, 24_000) is None
    assert measure.semitones(220, 110) == pytest.approx(12)
    assert measure.semitones(200, 150) == pytest.approx(4.98, abs=0.01)
