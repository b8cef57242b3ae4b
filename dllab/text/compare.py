"""Comparing training runs at equal steps and at equal wall-clock time, from their histories and timings.

A wider model usually wins at equal steps and may lose at equal time (each of its steps costs more), so a
fair comparison states both. The losses are the validation curves' (the same validation slice for every
run); the times come from the training stages' records, since they are not part of the artifacts.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass


@dataclass
class Run:
    """One training run: validation bits per character at each evaluated step, and the seconds elapsed then."""

    steps: list[int]
    val_bpc: list[float]
    seconds: list[float] | None = None  # None when the run's timing record is missing


def run_from_files(history_csv: str, record_json: str | None) -> Run:
    """A run from the text of its history (reports/lm/<model>_history.csv) and of its training stage's record
    (reports/pipeline/<model>_train.json; None or a record of another run: no times)."""
    rows = list(csv.DictReader(io.StringIO(history_csv)))
    steps, val_bpc = [int(float(r["step"])) for r in rows], [round(float(r["val_bpc"]), 4) for r in rows]
    seconds = json.loads(record_json).get("eval_seconds") if record_json else None
    if seconds is not None and len(seconds) != len(steps):
        seconds = None  # the record of another run than the history: no time comparison
    return Run(steps, val_bpc, seconds)


def at_equal_steps(runs: dict[str, Run]) -> tuple[int, dict[str, float]]:
    """The last step every run evaluated, and each run's validation bpc there."""
    common = set.intersection(*(set(run.steps) for run in runs.values()))
    step = max(common)
    return step, {name: run.val_bpc[run.steps.index(step)] for name, run in runs.items()}


def at_equal_time(runs: dict[str, Run]) -> tuple[float, dict[str, float]] | None:
    """The training time of the fastest run, and each run's validation bpc at its last evaluation within it;
    None when a run has no timing."""
    if any(run.seconds is None for run in runs.values()):
        return None
    budget = min(run.seconds[-1] for run in runs.values())
    values = {}
    for name, run in runs.items():
        within = [i for i, t in enumerate(run.seconds) if t <= budget + 1e-9]
        values[name] = run.val_bpc[within[-1]] if within else float("nan")
    return budget, values


def comparison_rows(runs: dict[str, Run]) -> list[list]:
    """Table rows: [basis, one value per run, the better run]."""
    rows = []
    step, by_step = at_equal_steps(runs)
    rows.append([f"equal steps ({step})", *by_step.values(), min(by_step, key=by_step.get)])
    timed = at_equal_time(runs)
    if timed is not None:
        budget, by_time = timed
        rows.append([f"equal time ({budget:.0f} s)", *by_time.values(), min(by_time, key=by_time.get)])
    return rows
