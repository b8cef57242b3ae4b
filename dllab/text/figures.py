"""The language-model figure: each model's validation loss against training step.

By step, not by wall-clock time: the figure is then the same bytes for the same data and params (the times
are in the training stages' records, and the report compares the models at equal time from them).
"""
from __future__ import annotations

from pathlib import Path

from dllab.history import read_history
from dllab.plotting import plt, save  # plt in file-only (Agg) mode


def validation_curves(history_paths: dict[str, str | Path], path: str | Path, unigram_bpc: float | None = None) -> None:
    """Validation bits per character (comparable across tokenizers) of each model, by training step."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, history_path in history_paths.items():
        history = read_history(history_path)
        ax.plot(history["step"], history["val_bpc"], "o-", markersize=3, label=name)
    if unigram_bpc is not None:
        ax.axhline(unigram_bpc, color="grey", linestyle="--", label="unigram baseline (test text)")
    ax.set(xlabel="training step", ylabel="validation bits per character", title="Validation loss by step")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, path)
