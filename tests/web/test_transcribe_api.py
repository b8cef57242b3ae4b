"""POST /transcribe: the Flask route over the real Whisper base, then over HTTP on the real server, with good
recordings in the containers browsers make and with bad ones (each a 4xx naming the problem, never a 5xx)."""
import json

import numpy as np
import pytest

from web.client import post, running_server
from dllab.speech import measure, wav
from tests.chat import helpers

pytestmark = pytest.mark.slow

SAID = "Quel est le secret d'une bonne tarte aux pommes ?"


@pytest.fixture(scope="module")
def recording(tmp_path_factory, kokoro_files):
    """The question said by the lab's question voice: (WAV bytes, samples, rate)."""
    from dllab.speech.config import TtsParams
    from dllab.speech.tts import Speaker

    tts = helpers.repo_section(TtsParams).with_values(engine="kokoro")
    speaker = Speaker.from_params(tts, tmp_path_factory.mktemp("audio"), kokoro_files)
    data = speaker.speak(SAID, "question").path.read_bytes()
    return (data, *wav.read_pcm(data))


@pytest.fixture(scope="module")
def speech_client(chat_service, whisper_files):
    from dllab.speech.config import SttParams
    from dllab.speech.transcribe import Transcriber
    from web.app import create_app

    transcriber = Transcriber(whisper_files, helpers.repo_section(SttParams))
    return create_app(chat_service, transcriber=transcriber).test_client()


@pytest.mark.parametrize("container, content_type", [("wav", "audio/wav"), ("webm", "audio/webm;codecs=opus"),
                                                     ("ogg", "audio/ogg;codecs=opus")])
def test_a_recorded_question_comes_back_as_text(speech_client, recording, container, content_type):
    data, samples, rate = recording
    body = data if container == "wav" else wav.encode(samples, rate, container)
    response = speech_client.post("/transcribe", data=body, content_type=content_type)
    assert response.status_code == 200, response.get_json()
    heard = response.get_json()
    assert set(heard) == {"text", "language", "seconds"} and heard["language"] == "fr"
    assert heard["seconds"] == pytest.approx(len(samples) / rate, abs=0.1)
    assert measure.word_error_rate([SAID], [heard["text"]]) <= 0.25, heard


@pytest.mark.parametrize("body, content_type, status, problem, kind", [
    (b"", "audio/webm", 400, "the recording is empty", "empty"),
    (b"GIF89a" + b"\x00" * 500, "audio/webm", 400, "not audio that can be read", "unreadable"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00", "audio/wav", 400, "not audio that can be read", "unreadable"),
    (b"\x1aE\xdf\xa3" + b"\xff" * 2000, "audio/webm", 400, "not audio that can be read", "unreadable"),
    (json.dumps({"audio": "x"}).encode(), "application/json", 415, "send the recording itself", None),
    (b"x" * 100, "text/plain", 415, "not 'text/plain'", None),
])
def test_bad_audio_is_a_4xx_naming_the_problem(speech_client, body, content_type, status, problem, kind):
    response = speech_client.post("/transcribe", data=body, content_type=content_type)
    error = response.get_json()
    assert response.status_code == status and problem in error["error"] and error.get("problem") == kind


def test_too_long_and_too_large_recordings_are_refused(speech_client, recording):
    _, samples, rate = recording
    long = wav.encode(np.tile(samples, int(31 * rate / len(samples)) + 1), rate, "webm")
    response = speech_client.post("/transcribe", data=long, content_type="audio/webm")
    assert response.status_code == 400 and "lasts more than 30 s (stt.max_seconds)" in response.get_json()["error"]
    assert response.get_json()["problem"] == "too_long"
    huge = speech_client.post("/transcribe", data=b"\x00" * (5 * 2**20), content_type="audio/wav")
    assert huge.status_code == 413 and "larger than 4194304 bytes" in huge.get_json()["error"]


def test_without_whisper_transcribe_says_which_stage_makes_it(chat_service):
    from web.app import create_app

    client = create_app(chat_service).test_client()
    response = client.post("/transcribe", data=b"RIFF", content_type="audio/wav")
    assert response.status_code == 503 and response.get_json()["build"] == "dvc repro whisper_download"
    health = client.get("/health").get_json()
    assert health["transcribe"] == {"ready": False, "loaded": False, "build": "dvc repro whisper_download"}
    assert "microphone=(self)" in response.headers["Permissions-Policy"]


def test_over_http_the_real_server_transcribes_and_refuses_bad_audio(tmp_path, base, whisper_files, recording):
    import yaml

    data, samples, rate = recording
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(helpers.server_params(), allow_unicode=True), encoding="utf-8")
    with running_server("--params", str(params), "--model", str(helpers.model_file(base)), "--index",
                        str(helpers.index_dir(base)), "--audio-cache", str(tmp_path / "audio"),
                        "--whisper", str(whisper_files), "--load-on-first-use") as (url, _):
        status, _, body = post(url, "/transcribe", wav.encode(samples, rate, "webm"), "audio/webm;codecs=opus")
        assert status == 200 and measure.word_error_rate([SAID], [json.loads(body)["text"]]) <= 0.25, body
        for bad in (b"", b"not audio at all" * 50, data[:60]):
            status, headers, body = post(url, "/transcribe", bad, "audio/wav")
            assert status == 400 and json.loads(body)["error"], body
        status, _, body = post(url, "/transcribe", b"\x00" * (5 * 2**20), "audio/webm")
        assert status == 413
