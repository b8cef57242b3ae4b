"""Figures for the MNIST report: curves, confusion matrix, sample predictions, worst mistakes."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from dllab.plotting import plt, save  # plt in file-only (Agg) mode

RIGHT, WRONG = "#1a7f37", "#cf222e"


def training_curves(history: dict[str, np.ndarray], path: str | Path) -> None:
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = history["epoch"]
    loss_ax.plot(epochs, history["train_loss"], "o-", label="train")
    loss_ax.plot(epochs, history["val_loss"], "o-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    acc_ax.plot(epochs, 100 * history["train_accuracy"], "o-", label="train")
    acc_ax.plot(epochs, 100 * history["val_accuracy"], "o-", label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    save(fig, path)


def confusion(matrix: np.ndarray, path: str | Path) -> None:
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    # Log colour scale: the diagonal (~1000) would otherwise wash out the mistakes (~1-20).
    image = ax.imshow(matrix + 1, cmap="Blues", norm=matplotlib.colors.LogNorm())
    for (true, pred), count in np.ndenumerate(matrix):
        if count:
            ax.text(pred, true, str(count), ha="center", va="center", fontsize=8,
                    color="white" if np.log1p(count) > 0.6 * np.log1p(matrix.max()) else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
           title=f"Confusion matrix ({matrix.sum() - np.trace(matrix)} mistakes in {matrix.sum()})")
    fig.colorbar(image, ax=ax, shrink=0.8, label="count + 1 (log)")
    save(fig, path)


def digit_grid(images, labels, predictions, confidences, indices, title: str, path: str | Path, cols: int = 8):
    """Digits with 'true / predicted' under each; mistakes in red with a red frame."""
    rows = max(1, int(np.ceil(len(indices) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.25, rows * 1.5))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, i in zip(np.atleast_1d(axes).ravel(), indices):
        wrong = labels[i] != predictions[i]
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"true {labels[i]} / pred {predictions[i]}\n{100 * confidences[i]:.0f}%",
                     fontsize=8, color=WRONG if wrong else RIGHT)
        if wrong:
            ax.axis("on")
            ax.set(xticks=[], yticks=[])
            for spine in ax.spines.values():
                spine.set(color=WRONG, linewidth=2)
    fig.suptitle(title)
    save(fig, path)


def sample_indices(labels, predictions, count: int, seed: int = 0) -> np.ndarray:
    """A seeded sample of test images that always includes a few mistakes, so they can be seen."""
    rng = np.random.default_rng(seed)
    wrong = np.flatnonzero(labels != predictions)
    picked_wrong = rng.choice(wrong, size=min(len(wrong), count // 8), replace=False)
    rest = rng.choice(np.setdiff1d(np.arange(len(labels)), picked_wrong), size=count - len(picked_wrong),
                      replace=False)
    return np.sort(np.concatenate([picked_wrong, rest]))


def worst_mistakes(labels, predictions, confidences, count: int) -> np.ndarray:
    wrong = np.flatnonzero(labels != predictions)
    return wrong[np.argsort(-confidences[wrong])][:count]
