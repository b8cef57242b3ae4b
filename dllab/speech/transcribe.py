"""Speech to text: a recorded question (WAV, WebM/Opus, Ogg...) transcribed by Whisper base through faster-whisper.

The model (``models/whisper``, from ``dvc repro whisper_download``) loads on first use, or in the background
once the server is up (``warm_in_background``), so start-up stays quick. Audio is decoded with PyAV (FFmpeg)
to 16 kHz mono, frame by frame, and refused as soon as it passes ``stt.max_seconds``: a small compressed
upload can hold hours of sound. Silence and noise give an empty text (faster-whisper's voice activity
filter drops them, where Whisper alone would invent a sentence).
"""
from __future__ import annotations

import io
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dllab.errors import UserError

if TYPE_CHECKING:
    from dllab.speech.config import SttParams

log = logging.getLogger("speech.transcribe")

RATE = 16_000  # what Whisper hears
FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
BUILD = "dvc repro whisper_download"
MAX_TOKENS = 200  # per 30 s window: more than anyone says in it, and a bound on a decoding that loops
WAITING = 4  # transcriptions waiting for the model at most; one more is refused (503)


class AudioError(UserError):
    """The upload is not a recording that can be transcribed (400); ``problem`` says which, for a page to
    explain it in its own language: "empty", "unreadable", "too_long" or "too_large"."""

    def __init__(self, message: str, problem: str):
        super().__init__(message)
        self.problem = problem


class TranscriberBusy(Exception):
    """Too many transcriptions already wait for the model (503)."""

    retry_after = 5


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    seconds: float  # the recording's duration
    transcribe_seconds: float  # decoding and recognition time


def missing_files(folder: str | Path | None) -> list[str]:
    if folder is None:
        return list(FILES)
    return [str(Path(folder) / name) for name in FILES if not (Path(folder) / name).is_file()]


def decode(data: bytes, max_seconds: float) -> np.ndarray:
    """16 kHz mono float32 samples of a recording in any container and codec FFmpeg reads; AudioError when
    it is empty, not audio, or longer than ``max_seconds``."""
    import av

    if not data:
        raise AudioError("the recording is empty (0 bytes)", "empty")
    chunks, samples = [], 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("the upload holds no audio stream; send WAV, WebM/Opus or Ogg audio", "unreadable")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    samples += chunk.size
                if samples > max_seconds * RATE:
                    raise AudioError(f"the recording lasts more than {max_seconds:g} s (stt.max_seconds); "
                                     "record a shorter question", "too_long")
            for out in resampler.resample(None):  # what the resampler still holds
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise AudioError(f"the upload is not audio that can be read ({exc.__class__.__name__}); send WAV, "
                         "WebM/Opus or Ogg audio as a browser records it", "unreadable") from None
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    if audio.size < RATE // 10:
        raise AudioError(f"the recording is empty ({audio.size / RATE:.2f} s of sound); keep the microphone "
                         "open while you speak", "empty")
    return audio


class Transcriber:
    """Whisper base for a server: loads once (lazily), transcribes one recording at a time."""

    def __init__(self, folder: str | Path, params: SttParams, threads: int | None = None):
        missing = missing_files(folder)
        if missing:
            raise UserError(f"speech recognition needs Whisper's files ({', '.join(missing)}): run `{BUILD}`")
        self.folder, self.params = Path(folder), params
        self.threads = threads or os.cpu_count() or 1
        self._model = None
        self._loading = threading.Lock()
        self._running = threading.Lock()
        self._places = threading.BoundedSemaphore(WAITING)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def status(self) -> dict:
        return {"ready": True, "model": "whisper-base", "loaded": self.loaded, "language": self.params.language,
                "max_seconds": self.params.max_seconds, "max_bytes": self.max_bytes}

    @property
    def max_bytes(self) -> int:
        return int(self.params.max_mb * 2**20)

    def load(self):
        with self._loading:
            if self._model is None:
                from faster_whisper import WhisperModel

                started = time.perf_counter()
                self._model = WhisperModel(str(self.folder), device="cpu", compute_type="int8",
                                           cpu_threads=self.threads, local_files_only=True)
                log.info("whisper base loaded from %s in %.1f s", self.folder, time.perf_counter() - started)
        return self._model

    def warm_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="whisper-load", daemon=True)
        thread.start()
        return thread

    def transcribe(self, data: bytes) -> Transcript:
        """The text of a recording; AudioError (a client mistake) or TranscriberBusy."""
        if len(data) > self.max_bytes:
            raise AudioError(f"the recording has {len(data)} bytes; at most {self.max_bytes} (stt.max_mb)",
                             "too_large")
        if not self._places.acquire(blocking=False):
            raise TranscriberBusy("too many recordings are being transcribed; try again in a few seconds")
        try:
            started = time.perf_counter()
            audio = decode(data, self.params.max_seconds)
            with self._running:
                return self.transcribe_samples(audio, started)
        finally:
            self._places.release()

    def transcribe_samples(self, audio: np.ndarray, started: float | None = None) -> Transcript:
        """The text of 16 kHz mono float samples (no limits checked: the pipeline's own clips)."""
        started = time.perf_counter() if started is None else started
        language = None if self.params.language == "auto" else self.params.language
        # One greedy-or-beam pass at temperature 0: deterministic, and no re-decoding at higher temperatures
        # (faster-whisper's default fallback took 56 s on a 14 s clip of babble).
        segments, info = self.load().transcribe(audio, language=language, beam_size=self.params.beam_size,
                                                temperature=0.0, vad_filter=True, without_timestamps=True,
                                                condition_on_previous_text=False, max_new_tokens=MAX_TOKENS)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        return Transcript(text, info.language, round(audio.size / RATE, 3), time.perf_counter() - started)
