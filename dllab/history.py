"""Training histories: one CSV row per evaluation (epoch or step), written atomically, read back as columns.

DVC draws them (`plots:` in dvc.yaml) and the figures read them; MNIST and the language models share this.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dllab.files import atomic_path


def write_history(path: str | Path, rows: list[dict], fields: list[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()} for r in rows)


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}
