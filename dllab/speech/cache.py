"""A bounded folder of WAV files named by their cache key, shared by every thread of a server.

Files are written atomically, so a reader sees a whole file or none. When the folder holds more than
``max_files`` files or ``max_bytes`` bytes, the least recently used are deleted; a hit refreshes a
file's modification time, which is what "recently used" means here (it also holds across processes
sharing the folder).
"""
from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger("speech.cache")

_KEY = re.compile(r"[0-9a-f]{64}")


class AudioCache:
    def __init__(self, folder: str | Path, max_files: int, max_bytes: int):
        # Absolute once and for all: a relative folder would later be read against another base
        # (Flask's send_file resolves relative paths against the app's folder, not the working directory).
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._evicting = threading.Lock()
        self._key_locks: dict[str, list] = {}  # key -> [lock, number of threads using it]
        self._key_locks_guard = threading.Lock()

    def path(self, key: str) -> Path | None:
        """The file of ``key`` if it is in the cache; None for anything that is not a 64-hex key."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            return None
        path = self.folder / f"{key}.wav"
        return path if path.is_file() else None

    def touch(self, path: Path) -> bool:
        """Mark a hit as recently used; False if it was evicted meanwhile."""
        try:
            os.utime(path)
            return True
        except FileNotFoundError:
            return False

    def target(self, key: str) -> Path:
        """Where the file of ``key`` goes (write it atomically, then call ``added``)."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.folder / f"{key}.wav"

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Held while ``key`` is synthesised, so two threads asking for the same clip make it once."""
        with self._key_locks_guard:
            entry = self._key_locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._key_locks_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._key_locks[key]

    def added(self, keep: Path) -> None:
        """Delete the least recently used files until the folder is within its limits (never ``keep``)."""
        with self._evicting:
            files = []
            for path in self.folder.glob("*.wav"):
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                files.append((stat.st_mtime_ns, stat.st_size, path))
            files.sort()
            count, size = len(files), sum(f[1] for f in files)
            for _, file_size, path in files:
                if count <= self.max_files and size <= self.max_bytes:
                    break
                if path == keep:
                    continue
                path.unlink(missing_ok=True)
                count, size = count - 1, size - file_size
                log.debug("evicted %s", path.name)
