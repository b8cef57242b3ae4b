"""The run an experiment's report compares with: the pipeline outputs of one git commit, read through DVC.

``report.lm_baseline`` names the commit by its full hash (checked in config.py).
"""
from __future__ import annotations

from dllab.errors import DataError


class Baseline:
    def __init__(self, rev: str):
        self.rev = rev
        self.name = f"commit {rev[:10]}"

    def read(self, path: str, missing_ok: bool = False) -> str | None:
        """The file's text at the baseline commit, from Git or, for a pipeline output, from DVC's cache."""
        import dvc.api

        try:
            return dvc.api.read(path, rev=self.rev, encoding="utf-8")
        except Exception as exc:  # dvc raises several types here: PathMissingError, RevError, cache misses
            if missing_ok:
                return None
            raise DataError(f"{path} of the baseline {self.name} cannot be read ({type(exc).__name__}): check out "
                            f"that commit and run `dvc repro` (or `dvc pull`) so its outputs are in the DVC "
                            f"cache, or set report.lm_baseline to \"\"") from None
