"""espeak-ng, the offline default: robotic but clear French, far faster than real time.

The text goes to the program on stdin (never on the command line: a text starting with '-' would be
read as an option) and the WAV comes back on stdout; no shell is involved.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from dllab.errors import UserError
from dllab.speech import text as speech_text
from dllab.speech import wav

PROGRAM = "espeak-ng"
INSTALL = "install it with `sudo apt-get install espeak-ng` (or run `bash scripts/setup.sh` as root)"
# espeak-ng reads any length of text, but one process per few sentences keeps each call short.
PIECE_CHARS = 1000
PAUSE_S = 0.15
TIMEOUT_S = 60


class EspeakEngine:
    name = "espeak"

    def __init__(self, voices: dict[str, str], pitches: dict[str, int], speed: int):
        self.program = shutil.which(PROGRAM)
        if self.program is None:
            raise UserError(f"{PROGRAM} is not installed (no `{PROGRAM}` on PATH): {INSTALL}")
        self.voices, self.pitches, self.speed = voices, pitches, speed
        for role, voice in voices.items():
            self._check_voice(role, voice)

    def voice(self, role: str) -> str:
        return self.voices[role]

    def voice_key(self, role: str) -> str:
        """Everything that changes the sound of ``role`` (part of the cache key)."""
        return f"{self.voices[role]} pitch={self.pitches[role]} speed={self.speed}"

    def synthesize(self, text: str, role: str) -> tuple[np.ndarray, int]:
        """16-bit samples and sample rate (22,050 Hz) of ``text`` said in ``role``'s voice."""
        pieces, rate = [], 22050
        for piece in speech_text.chunks(text, PIECE_CHARS):
            samples, rate = self._run(piece, self.voices[role], self.pitches[role])
            pieces.append(samples)
        return wav.join(pieces, rate, PAUSE_S), rate

    def _run(self, text: str, voice: str, pitch: int) -> tuple[np.ndarray, int]:
        command = [self.program, "-v", voice, "-p", str(pitch), "-s", str(self.speed), "-b", "1",
                   "--stdin", "--stdout"]
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                                  timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{PROGRAM} took more than {TIMEOUT_S} s for {len(text)} characters") from None
        if done.returncode != 0 or not done.stdout:
            message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
            raise RuntimeError(f"{PROGRAM} -v {voice} failed: {message}")
        return wav.read_pcm(done.stdout)

    def _check_voice(self, role: str, voice: str) -> None:
        """Fail at start-up, not at the first question, when a voice or its variant does not exist."""
        where = f"tts.{role}_voice.espeak = {voice!r}"
        if not re.fullmatch(r"[A-Za-z0-9_-]+(\+[A-Za-z0-9_-]+)?", voice):
            raise UserError(f"{where} is not an espeak-ng voice name such as 'fr' or 'fr+m3'")
        language, _, variant = voice.partition("+")
        if variant and not (self._data_dir() / "voices" / "!v" / variant).is_file():
            raise UserError(f"{where}: espeak-ng has no variant {variant!r}; "
                            f"variants are m1..m7, f1..f5 and those in {self._data_dir() / 'voices' / '!v'}")
        try:
            samples, _ = self._run("a", voice, 50)
        except RuntimeError as exc:
            raise UserError(f"{where}: espeak-ng cannot speak with this voice ({exc}); "
                            f"list the voices with `espeak-ng --voices={language[:2]}`") from None
        if not len(samples):
            raise UserError(f"{where}: espeak-ng produced no audio with this voice")

    def _data_dir(self) -> Path:
        version = subprocess.run([self.program, "--version"], capture_output=True, text=True, timeout=10)
        found = re.search(r"Data at:\s*(\S.*)$", version.stdout.strip(), re.MULTILINE)
        return Path(found.group(1).strip()) if found else Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data")
