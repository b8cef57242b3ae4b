"""The language-model figure: each model's validation loss against training step and wall-clock time."""
from __future__ import annotations

from pathlib import Path

from dllab.history import read_history
from dllab.plotting import plt, save  # plt in file-only (Agg) mode


def validation_curves(history_paths: dict[str, str | Path], path: str | Path, unigram_bpc: float | None = None) -> None:
    """Bits per character (comparable across tokenizers) of each model, by step and by seconds."""
    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name, history_path in history_paths.items():
        history = read_history(history_path)
        by_step.plot(history["step"], history["val_bpc"], "o-", markersize=3, label=name)
        by_time.plot(history["seconds"], history["val_bpc"], "o-", markersize=3, label=name)
    by_step.set(xlabel="training step", ylabel="validation bits per character", title="Validation loss by step")
    by_time.set(xlabel="wall-clock seconds", title="Validation loss by training time")
    for ax in (by_step, by_time):
        if unigram_bpc is not None:
            ax.axhline(unigram_bpc, color="grey", linestyle="--", label="unigram baseline")
        ax.grid(alpha=0.3)
        ax.legend()
    save(fig, path)
