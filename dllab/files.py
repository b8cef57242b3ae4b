"""Writing outputs so that an interrupted stage never leaves a half-written file behind.

Files and folders are written beside their final path, then renamed onto it: a process killed at any moment
leaves either the previous output or the new one, both whole.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o644)  # mkstemp makes 0600; outputs are meant to be read by others (web server, users)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path, start_from_current: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``, empty or (``start_from_current``) a copy of ``path``; it
    replaces ``path`` in one atomic step only if the block succeeds, so ``path`` is always whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o755)
    try:
        if start_from_current and path.is_dir():
            shutil.copytree(path, tmp, dirs_exist_ok=True)
        yield tmp
        swap_in(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def swap_in(new: Path, path: Path) -> None:
    """Put the folder ``new`` at ``path``; the previous ``path`` is deleted afterwards.

    On Linux the two folders are exchanged in one ``renameat2(RENAME_EXCHANGE)`` call. Elsewhere the old
    folder is first renamed aside (``.NAME.old``), and ``recover`` puts it back if a crash came in between.
    """
    if path.exists() and _exchange(new, path):
        shutil.rmtree(new, ignore_errors=True)  # it now holds the previous folder
        return
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(new, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, path)


def recover(path: Path) -> None:
    """Undo what a crash in ``swap_in``'s fallback left: the previous folder set aside, none in place; and
    delete temporary folders that killed writers left beside ``path``."""
    old = path.with_name(f".{path.name}.old")
    if old.is_dir() and not path.exists():
        os.replace(old, path)
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's renameat2; False where the system or filesystem cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def read_yaml(path: str | Path, error: type[Exception]):
    """The parsed YAML file; a missing or malformed file raises ``error`` with a message naming it."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from None


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_torch(path: str | Path, obj) -> None:
    """``torch.save`` of ``obj``, atomically and byte-for-byte reproducible.

    Given a path, torch names the folder inside its zip archive after the file, here a random temporary
    name, so identical weights would give different bytes; through a file object the folder is 'archive'.
    """
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
