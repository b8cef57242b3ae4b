"""16-bit mono PCM WAV files: reading, writing, joining pieces of speech."""
from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from dllab.files import atomic_path


def read_pcm(data: bytes) -> tuple[np.ndarray, int]:
    """Samples (int16) and sample rate of a 16-bit mono WAV held in memory.

    Streams (``espeak-ng --stdout``) carry a placeholder length in the header: the frames actually
    present are read, not the count the header claims.
    """
    with wave.open(io.BytesIO(data)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"expected 16-bit mono WAV, got {wav.getsampwidth() * 8}-bit "
                             f"with {wav.getnchannels()} channel(s)")
        rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    return np.frombuffer(frames[: len(frames) // 2 * 2], dtype="<i2"), rate


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] (Bark, encodec) as 16-bit PCM; out-of-range values are clipped."""
    return (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")


def join(pieces: list[np.ndarray], rate: int, pause_s: float) -> np.ndarray:
    """Pieces one after the other with ``pause_s`` of silence between them."""
    silence = np.zeros(int(rate * pause_s), dtype="<i2")
    parts: list[np.ndarray] = []
    for index, piece in enumerate(pieces):
        if index:
            parts.append(silence)
        parts.append(piece.astype("<i2", copy=False))
    return np.concatenate(parts) if parts else silence[:0]


def write(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """Write a 16-bit mono WAV atomically (a reader never sees half a file)."""
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(samples.astype("<i2", copy=False).tobytes())


def seconds(path: str | Path) -> float:
    """Duration of a WAV file, from its header."""
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def encode(samples: np.ndarray, rate: int, container: str) -> bytes:
    """16-bit mono samples as a compressed recording, as a browser's MediaRecorder makes one: ``"webm"`` or
    ``"ogg"`` (Opus at 48 kHz), through PyAV (FFmpeg's libraries)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format=container) as recording:
        stream = recording.add_stream("libopus", rate=48_000, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(samples.astype("<i2").reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for piece in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(piece):
                recording.mux(packet)
        for packet in stream.encode(None):
            recording.mux(packet)
    return out.getvalue()
