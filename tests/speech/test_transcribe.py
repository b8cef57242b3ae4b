"""Whisper base (the real CTranslate2 model through faster-whisper) on recordings the lab made, in the
containers browsers record, and on every kind of bad upload."""
import io
import wave

import numpy as np
import pytest

from dllab.speech import measure, wav
from dllab.speech.transcribe import AudioError, Transcriber, TranscriberBusy, decode

pytestmark = pytest.mark.slow

SAID = "Combien de temps faut-il cuire la tarte aux pommes ?"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory, kokoro_files):
    """A question said by the lab's question voice: (WAV bytes, 16-bit samples, rate)."""
    from dllab.params import load
    from dllab.speech.config import TtsParams
    from dllab.speech.tts import Speaker
    from tests.conftest import REPO

    params = load(REPO / "params.yaml", TtsParams).with_values(engine="kokoro")
    speaker = Speaker.from_params(params, tmp_path_factory.mktemp("audio"), kokoro_files)
    data = speaker.speak(SAID, "question").path.read_bytes()
    samples, rate = wav.read_pcm(data)
    return data, samples, rate


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


@pytest.mark.parametrize("container", ["wav", "webm", "ogg"])
def test_a_spoken_question_is_transcribed_from_each_container(transcriber, spoken, container):
    data, samples, rate = spoken
    body = data if container == "wav" else wav.encode(samples, rate, container)
    heard = transcriber.transcribe(body)
    assert heard.language == "fr" and heard.seconds == pytest.approx(len(samples) / rate, abs=0.1)
    assert measure.word_error_rate([SAID], [heard.text]) <= 0.25, heard.text


def test_silence_and_noise_give_no_words(transcriber):
    silence = np.zeros(3 * 16_000, dtype="<i2")
    noise = (np.random.default_rng(0).normal(0, 300, 3 * 16_000)).astype("<i2")
    assert transcriber.transcribe(wav_bytes(silence, 16_000)).text == ""
    assert transcriber.transcribe(wav_bytes(noise, 16_000)).text == ""


@pytest.mark.parametrize("body, problem", [
    (b"", "the recording is empty (0 bytes)"),
    (b"<html>not audio</html>" * 20, "not audio that can be read"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not audio that can be read"),
    (wav_bytes(np.zeros(400, dtype="<i2"), 16_000), "the recording is empty (0.03 s of sound)"),
])
def test_bad_uploads_are_refused_naming_the_problem(transcriber, body, problem):
    with pytest.raises(AudioError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        transcriber.transcribe(body)


def test_a_recording_too_long_or_too_large_is_refused_before_recognition(transcriber, spoken, whisper_files):
    _, samples, rate = spoken
    short = Transcriber(whisper_files, transcriber.params.with_values(max_seconds=1.0))
    with pytest.raises(AudioError, match=r"lasts more than 1 s \(stt.max_seconds\)"):
        short.transcribe(wav.encode(samples, rate, "webm"))
    small = Transcriber(whisper_files, transcriber.params.with_values(max_mb=0.01))
    with pytest.raises(AudioError, match=r"at most 10485 \(stt.max_mb\)"):
        small.transcribe(spoken[0])
    # a compressed upload that decodes to far more than the limit is cut off while decoding
    with pytest.raises(AudioError, match="lasts more than"):
        decode(wav.encode(np.zeros(40 * rate, dtype="<i2"), rate, "ogg"), max_seconds=30)


def test_more_waiting_recordings_than_places_are_refused(whisper_files, transcriber):
    busy = Transcriber(whisper_files, transcriber.params)
    for _ in range(4):
        assert busy._places.acquire(blocking=False)
    with pytest.raises(TranscriberBusy):
        busy.transcribe(b"anything")
