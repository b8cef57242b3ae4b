"""Small, made-up metrics and figures laid out like the pipeline's, for building the report in tests."""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MACHINE = {"cpu": "Test CPU", "cores": 2, "memory_gib": 24.0, "python": "3.11", "torch": "2.x", "device": "cpu"}


def png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    fig.savefig(path)
    plt.close(fig)


def write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def make_reports(root: Path) -> Path:
    reports = root / "reports"
    write(reports / "mnist/metrics.json", {
        "test_accuracy": 0.9876, "test_loss": 0.04, "test_errors": 124, "inference_images_per_second": 90000,
        "train_seconds": 61.5, "seconds_per_epoch": 3.1, "train_images_per_second": 17000, "best_epoch": 19,
        "parameters": 669706})
    write(reports / "mnist/details.json", {
        "per_class": {str(d): {"precision": 0.99, "recall": 0.98, "support": 1000} for d in range(10)},
        "confusion_matrix": [[0] * 10] * 10, "model": {"hidden": [512, 512], "activation": "relu", "dropout": 0.2},
        "test_images": 10000, "machine": MACHINE})
    for name in ["training_curves", "confusion_matrix", "predictions", "worst_mistakes"]:
        png(reports / f"mnist/figures/{name}.png")
    write(reports / "pipeline/mnist_train.json", {"stage": "mnist_train", "seconds": 70.1, "peak_memory_mb": 900.0,
                                                  "finished_at": "2026-11-26T06:00:00+00:00", "argv": []})
    return reports
