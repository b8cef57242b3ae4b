"""Fixtures for the speech tests: the real ``tts`` section of params.yaml, a speaker on a temporary cache, and
the real Kokoro and Whisper files."""
from __future__ import annotations

import pytest

from dllab.params import load
from dllab.speech.config import SttParams, TtsParams
from tests.conftest import REPO


@pytest.fixture
def tts_params(monkeypatch, tmp_path) -> TtsParams:
    """The repository's ``tts`` section with Bark's caches pointed at empty folders (so auto = espeak)."""
    for name in ("XDG_CACHE_HOME", "HF_HOME", "TORCH_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "empty-caches" / name))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return load(REPO / "params.yaml", TtsParams)


def with_voice(tts: TtsParams, role: str, engine: str, voice: str) -> TtsParams:
    """``tts`` with ``role``'s voice for ``engine`` changed."""
    voices = getattr(tts, f"{role}_voice")
    return tts.with_values(**{f"{role}_voice": voices.with_values(**{engine: voice})})


@pytest.fixture
def speaker(tts_params, tmp_path):
    from dllab.speech.tts import Speaker

    return Speaker.from_params(tts_params.with_values(engine="espeak"), tmp_path / "audio")




@pytest.fixture(scope="session")
def transcriber(whisper_files):
    from dllab.speech.transcribe import Transcriber

    return Transcriber(whisper_files, load(REPO / "params.yaml", SttParams))


@pytest.fixture
def kokoro_speaker(tts_params, kokoro_files, tmp_path):
    from dllab.speech.tts import Speaker

    return Speaker.from_params(tts_params.with_values(engine="kokoro"), tmp_path / "audio", kokoro_files)
