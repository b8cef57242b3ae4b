"""Fixtures for the speech tests: the real ``tts`` section of params.yaml, a speaker on a temporary cache, and
the real Kokoro and Whisper files."""
from __future__ import annotations

import copy

import pytest

from dllab.params import read_yaml
from tests.conftest import REPO


@pytest.fixture
def tts_params(monkeypatch, tmp_path) -> dict:
    """The repository's ``tts`` section with Bark's caches pointed at empty folders (so auto = espeak)."""
    for name in ("XDG_CACHE_HOME", "HF_HOME", "TORCH_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "empty-caches" / name))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return copy.deepcopy(read_yaml(REPO / "params.yaml")["tts"])


@pytest.fixture
def speaker(tts_params, tmp_path):
    from dllab.speech.tts import Speaker

    return Speaker.from_params({**tts_params, "engine": "espeak"}, tmp_path / "audio")




@pytest.fixture(scope="session")
def transcriber(whisper_files):
    from dllab.speech.transcribe import Transcriber

    return Transcriber(whisper_files, {**read_yaml(REPO / "params.yaml")["stt"]})


@pytest.fixture
def kokoro_speaker(tts_params, kokoro_files, tmp_path):
    from dllab.speech.tts import Speaker

    return Speaker.from_params({**tts_params, "engine": "kokoro"}, tmp_path / "audio", kokoro_files)
