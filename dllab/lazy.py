"""An artifact a server loads on first use (or in the background after start-up), once, under a lock.

Each section of the lab's page depends on its own DVC outputs; when one is missing that section answers
``Unavailable`` naming the stage that builds it, while the others keep working.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Generic, TypeVar

log = logging.getLogger("lazy")
T = TypeVar("T")


class Unavailable(Exception):
    """A section's artifacts are missing or could not be loaded; ``build`` is the command that makes them."""

    def __init__(self, message: str, build: str, missing: list[str] | None = None):
        super().__init__(message)
        self.build, self.missing = build, list(missing or [])

    def status(self) -> dict:
        """The shape of ``Lazy.status()`` for a section that is down."""
        return {"ready": False, "loaded": False, "build": self.build, "missing": self.missing}


class Lazy(Generic[T]):
    def __init__(self, name: str, paths: list[Path], stage: str, load: Callable[[], T], build: str | None = None):
        """``build``: the command that makes the files when it is not ``dvc repro <stage>`` (an experiment's)."""
        self.name, self.paths, self.stage, self._load = name, [Path(p) for p in paths], stage, load
        self._build = build
        self._value: T | None = None
        self._failure: str | None = None
        self._lock = threading.Lock()

    @property
    def build(self) -> str:
        return self._build or f"dvc repro {self.stage}"

    def missing(self) -> list[Path]:
        return [path for path in self.paths if not path.exists()]

    def get(self) -> T:
        """The loaded artifact; Unavailable (with the stage to run) when its files are missing or broken."""
        if self._value is not None:
            return self._value
        with self._lock:
            if self._value is None:
                missing = self.missing()
                if missing:
                    raise Unavailable(f"{self.name} is unavailable: {', '.join(map(str, missing))} "
                                      f"missing; build it with `{self.build}`", self.build, list(map(str, missing)))
                try:
                    self._value = self._load()
                except Exception as exc:  # a corrupt or incompatible file: say which section and how to rebuild
                    log.exception("could not load %s", self.name)
                    self._failure = f"{self.name} could not be loaded ({type(exc).__name__}); rebuild it with " \
                                    f"`{self.build}`"
                    raise Unavailable(self._failure, self.build) from None
        return self._value

    @property
    def loaded(self) -> T | None:
        """The artifact if it has been loaded, else None (loads nothing)."""
        return self._value

    def warm(self) -> None:
        """Load now if possible (a background thread calls this after start-up); never raises."""
        try:
            self.get()
        except Unavailable:
            pass

    def status(self) -> dict:
        missing = self.missing()
        return {"ready": not missing and self._failure is None, "loaded": self._value is not None,
                "build": self.build, "missing": [str(p) for p in missing]}
