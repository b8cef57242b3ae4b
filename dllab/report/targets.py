"""Every target the report judges, in one place, and the judging: a measured value against its target gives a
Mark (met, missed, not measured) computed from the numbers, never written by hand.

The values are those the project set itself (README.md's targets table and the sections' anchors); a section
shows each target next to its measure, and the report's first screen counts them.
"""
from __future__ import annotations

from dataclasses import dataclass

from dllab.report.document import Mark, number


@dataclass(frozen=True)
class Target:
    threshold: float
    at_least: bool = False  # ≥ the threshold when True, ≤ it otherwise
    unit: str = ""          # written after the number: " s", " nats", " Mo"
    percent: bool = False   # a share (0..1) written as a percentage
    note: str = ""          # where the target is measured, when not exactly where this value is

    def show(self, value) -> str:
        if value is None:
            return "–"
        if self.percent:
            return f"{number(100 * value)}\u00a0%"
        return number(value) + self.unit

    @property
    def goal(self) -> str:
        threshold = f"{number(100 * self.threshold)}\u00a0%" if self.percent else number(self.threshold) + self.unit
        return ("≥ " if self.at_least else "≤ ") + threshold + (f", {self.note}" if self.note else "")

    def mark(self, value) -> Mark:
        if value is None:
            return Mark(None)
        return Mark(value >= self.threshold if self.at_least else value <= self.threshold)


@dataclass(frozen=True)
class Judged:
    """One measure against its target, as a section shows it and as the first screen counts it."""
    label: str
    value: float | None
    target: Target

    @property
    def mark(self) -> Mark:
        return self.target.mark(self.value)

    @property
    def shown(self) -> str:
        return self.target.show(self.value)

    def row(self, label: str | None = None) -> list:
        """A table row: measure, value, target, verdict."""
        return [label or self.label, self.shown, self.target.goal, self.mark]


class Goals:
    """The measures a section judged, in the order it showed them."""

    def __init__(self):
        self.judged: list[Judged] = []

    def __call__(self, label: str, value, target: Target) -> Judged:
        judged = Judged(label, value, target)
        self.judged.append(judged)
        return judged


MNIST = {"test_accuracy": Target(0.983, at_least=True, percent=True), "train_seconds": Target(90, unit=" s")}
# nanoGPT's anchor is in nats per character: the same unit as test_loss_per_char (natural log), not test_bpc.
LM = {"test_loss_per_char": Target(1.9, unit=" nats"), "train_seconds": Target(300, unit=" s")}
# Shares of questions (0..1 in the metrics files) are written as percentages.
RAG = {"hit_at_k": Target(0.95, at_least=True, percent=True), "hit_at_1": Target(0.80, at_least=True, percent=True)}
HTTP = "mesuré en HTTP par bench/chat_server.py"
ANSWERS = {"correct": Target(0.90, at_least=True, percent=True), "faithful": Target(0.95, at_least=True, percent=True),
           "french_ok": Target(0.98, at_least=True, percent=True), "declined": Target(0.85, at_least=True, percent=True),
           "wrongly_declined": Target(0.05, percent=True),
           "first_word_s_p50": Target(1.0, unit=" s", note=HTTP), "first_word_s_p95": Target(3.0, unit=" s", note=HTTP)}
# The untouched set's own targets: questions written by others, measured after every choice was made.
CHECK = {"correct": Target(0.85, at_least=True, percent=True), "declined": Target(0.70, at_least=True, percent=True),
         "wrongly_declined": Target(0.05, percent=True)}
SPEECH = {"wer": Target(0.20), "pitch_semitones_apart": Target(3.0, at_least=True, unit=" demi-tons"),
          "real_time_factor": Target(0.5), "first_audio_s": Target(1.0, unit=" s")}
# A full `dvc repro` on a 2-core CPU, and each stage's peak resident memory (4 GiB, in the records' MiB).
PIPELINE = {"seconds": Target(1200, unit=" s"), "peak_memory_mb": Target(4096, unit=" Mo")}
