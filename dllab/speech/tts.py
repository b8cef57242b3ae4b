"""Speaking questions and answers in two voices, with every clip cached as a WAV file.

``Speaker.from_params`` picks the engine (``tts.engine``: Kokoro, Bark, espeak-ng, or ``auto`` = the first of
them whose files are here: Kokoro's folder, Bark's weights in the local caches, else espeak-ng) and checks up
front that it can speak both voices. A question is said up to ``tts.question_chars`` characters (its
opening, cut at a sentence or word end); the clip says how many characters it says.
``speak`` is safe to call from many threads at once: a clip already made is returned from the cache
(``synth_seconds == 0``), and two threads asking for the same new clip make it only once.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dllab.speech import text as speech_text
from dllab.speech import wav
from dllab.speech.cache import AudioCache
from dllab.speech.config import ROLES, TtsParams

log = logging.getLogger("speech")

SENTENCE_PAUSE_S = 0.2  # between the sentence clips of a concatenated answer


@dataclass(frozen=True)
class AudioClip:
    id: str  # hex sha256 of (engine, voice, text): the cache key, safe in a URL
    path: Path  # the WAV file in the cache folder
    seconds: float  # audio duration
    synth_seconds: float  # time spent synthesising; 0 when it came from the cache
    engine: str
    voice: str
    chars: int = 0  # characters of the text said (a long question is said up to tts.question_chars)


def engine_name(params: TtsParams, kokoro_dir: str | Path | None) -> str:
    """The engine ``params.engine`` names; for ``auto`` the first whose files are here: kokoro, bark, espeak."""
    from dllab.speech import bark, kokoro

    name = params.engine
    if name == "auto":
        if not kokoro.missing_files(kokoro_dir):
            name = "kokoro"
        elif not bark.missing_weights(params.bark_small):
            name = "bark"
        else:
            name = "espeak"
        log.info("tts.engine auto: using %s", name)
    return name


def make_engine(params: TtsParams, kokoro_dir: str | Path | None = None):
    """The engine ``params.engine`` asks for, checked to be usable now (UserError otherwise)."""
    name = engine_name(params, kokoro_dir)
    voices = {role: params.voice(role, name) for role in ROLES}
    if name == "kokoro":
        from dllab.speech.kokoro import KokoroEngine

        speeds = {role: params.kokoro_speed.of(role) for role in ROLES}
        # All cores (dllab.runtime.cpu_threads would import torch, which the server does without).
        return KokoroEngine(kokoro_dir, voices, speeds, threads=os.cpu_count() or 1)
    if name == "bark":
        from dllab.speech import bark

        return bark.BarkEngine(voices, small=params.bark_small, sentence_chars=params.bark_sentence_chars,
                               temperature=params.bark_temperature)
    from dllab.speech.espeak import EspeakEngine

    return EspeakEngine(voices, {role: params.espeak_pitch.of(role) for role in ROLES}, params.espeak_speed)


class Speaker:
    def __init__(self, engine, cache: AudioCache, max_chars: int, question_chars: int | None = None):
        self._engine = engine
        self._cache = cache
        self.max_chars = max_chars
        self.question_chars = question_chars or max_chars
        self.engine: str = engine.name

    @classmethod
    def from_params(cls, params: TtsParams, cache_dir: str | Path, kokoro_dir: str | Path | None = None) -> "Speaker":
        """A speaker for the ``tts`` section; ``kokoro_dir`` holds Kokoro's files (``models/kokoro``), if any.
        Only the keys of the engine named are used (``TtsParams.VOICE_KEYS``)."""
        cache = AudioCache(cache_dir, params.cache_max_files, int(params.cache_max_mb * 2**20))
        return cls(make_engine(params, kokoro_dir), cache, params.max_chars, params.question_chars)

    @property
    def voices(self) -> dict[str, str]:
        """The voice of each role, e.g. ``{"question": "fr+m3", "answer": "fr+f3"}``."""
        return {role: self._engine.voice(role) for role in ROLES}

    def speak(self, text: str, role: str) -> AudioClip:
        """``text`` said in the voice of ``role`` ("question" or "answer"), from the cache when possible."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        text = speech_text.clean(text, self.max_chars)
        if role == "question":
            text = speech_text.opening(text, self.question_chars)
        key = hashlib.sha256(
            json.dumps([self.engine, self._engine.voice_key(role), text], ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        clip = self._from_cache(key, role)
        if clip is None:
            with self._cache.lock(key):
                # Another thread may have made it while this one waited for the lock.
                clip = self._from_cache(key, role) or self._synthesize(key, text, role)
        return replace(clip, chars=len(text))

    def concatenate(self, clips: list[AudioClip], role: str) -> AudioClip:
        """One clip of ``clips`` said one after the other (the sentences of an answer), cached like the others."""
        if len(clips) == 1:
            return clips[0]
        key = hashlib.sha256(json.dumps(["joined", [c.id for c in clips]]).encode("utf-8")).hexdigest()
        with self._cache.lock(key):
            joined = self._from_cache(key, role)
            if joined is None:
                pieces = [wav.read_pcm(clip.path.read_bytes()) for clip in clips]
                rate = pieces[0][1]
                samples = wav.join([samples for samples, _ in pieces], rate, SENTENCE_PAUSE_S)
                joined = self._store(key, samples, rate, role, synth_seconds=0.0)
        return replace(joined, chars=sum(clip.chars for clip in clips))

    def clip_path(self, clip_id: str) -> Path | None:
        """The WAV of ``clip_id`` for serving it; None unless it is a 64-hex id with a file in the cache."""
        return self._cache.path(clip_id)

    def _from_cache(self, key: str, role: str) -> AudioClip | None:
        path = self._cache.path(key)
        if path is None or not self._cache.touch(path):
            return None
        try:
            seconds = wav.seconds(path)
        except (FileNotFoundError, EOFError):  # evicted between the check and the read
            return None
        return AudioClip(key, path, seconds, 0.0, self.engine, self._engine.voice(role))

    def _synthesize(self, key: str, text: str, role: str) -> AudioClip:
        started = time.perf_counter()
        samples, rate = self._engine.synthesize(text, role)
        clip = self._store(key, samples, rate, role, time.perf_counter() - started)
        log.info("%s %s: %.1f s of audio in %.2f s (%d chars)", self.engine, role, clip.seconds, clip.synth_seconds,
                 len(text))
        return clip

    def _store(self, key: str, samples, rate: int, role: str, synth_seconds: float) -> AudioClip:
        path = self._cache.target(key)
        wav.write(path, samples, rate)
        self._cache.added(keep=path)
        return AudioClip(key, path, len(samples) / rate, synth_seconds, self.engine, self._engine.voice(role))
