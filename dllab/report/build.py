"""Gathering every metrics file and figure of the pipeline into one report (see document.py)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from dllab.errors import DataError
from dllab.report.document import Document, Figure, Heading, Paragraph, Preformatted, Table


def load_json(path: Path, stage: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); run `dvc repro {stage}` again") from None


def figure(path: Path, stage: str, caption: str) -> Figure:
    if not path.is_file():
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it")
    return Figure(path, caption)


def machine_line(machine: dict) -> Paragraph:
    gpu = f", GPU {machine['gpu']}" if machine.get("gpu") else ""
    return Paragraph(f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB, "
                     f"device {machine.get('device', 'cpu')}{gpu}, torch {machine.get('torch')}, "
                     f"Python {machine.get('python')}.")


def params_table(section: str, params: dict) -> Table:
    return Table(["param", "value"], [[f"{section}.{k}", json.dumps(v)] for k, v in params.items()],
                 caption=f"params.yaml: {section}")


def mnist_section(doc: Document, reports: Path, params: dict, machine: dict) -> None:
    metrics = load_json(reports / "mnist/metrics.json", "mnist_evaluate")
    details = load_json(reports / "mnist/details.json", "mnist_evaluate")
    figures = reports / "mnist/figures"
    doc.add(
        Heading("MNIST: a fully connected network"),
        Paragraph(f"A {'-'.join(str(w) for w in [784, *details['model']['hidden'], 10])} MLP "
                  f"({metrics['parameters']:,} parameters) trained with AdamW on CrossEntropyLoss, "
                  f"evaluated on the 10,000 test images. Anchor: Keras' 784-512-512 MLP reaches 98.40 % "
                  f"test accuracy in 20 epochs; the target here is at least 98.3 % in at most 90 s of training."),
        Table(["metric", "value"], [
            ["test accuracy", f"{100 * metrics['test_accuracy']:.2f} %"],
            ["test loss", metrics["test_loss"]],
            ["mistakes", metrics["test_errors"]],
            ["best epoch", metrics["best_epoch"]],
            ["training seconds", metrics["train_seconds"]],
            ["seconds per epoch", metrics["seconds_per_epoch"]],
            ["training images/s", metrics["train_images_per_second"]],
            ["inference images/s", metrics["inference_images_per_second"]],
        ], caption="reports/mnist/metrics.json"),
        Table(["digit", "precision", "recall", "test images"],
              [[d, s["precision"], s["recall"], s["support"]] for d, s in details["per_class"].items()],
              caption="Per class (reports/mnist/details.json)"),
        figure(figures / "training_curves.png", "mnist_evaluate", "Loss and accuracy per epoch, training and validation"),
        figure(figures / "confusion_matrix.png", "mnist_evaluate", "Confusion matrix on the test set"),
        figure(figures / "predictions.png", "mnist_evaluate", "Test digits with true and predicted labels"),
        figure(figures / "worst_mistakes.png", "mnist_evaluate", "The most confident mistakes"),
        params_table("mnist", params.get("mnist", {})),
        machine_line(details.get("machine", machine)),
    )


def pipeline_section(doc: Document, reports: Path, dvc_yaml: Path) -> None:
    """Each stage's last recorded wall time and peak memory (written by dllab.cli.run)."""
    import yaml

    stages = list(yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"])
    rows, total = [], 0.0
    for stage in stages:
        path = reports / "pipeline" / f"{stage}.json"
        if path.is_file():
            record = json.loads(path.read_text(encoding="utf-8"))
            rows.append([stage, record["seconds"], record["peak_memory_mb"], record["finished_at"]])
            total += record["seconds"]
        else:
            rows.append([stage, None, None, "not recorded (not run since reports/ was cleared, or this stage)"])
    doc.add(
        Heading("Pipeline"),
        Paragraph(f"Stages in dvc.yaml order with the wall time and peak resident memory of their last run "
                  f"(sum of recorded stages: {total:,.0f} s). The goal is a full `dvc repro` in at most "
                  f"20 minutes on a 2-core CPU, with no stage above 4 GB."),
        Table(["stage", "seconds", "peak memory (MB)", "finished at (UTC)"], rows),
    )


def read_csv(path: Path, stage: str) -> list[dict]:
    if not path.is_file():
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it")
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def build(reports: Path, params: dict, dvc_yaml: Path, machine: dict) -> Document:
    doc = Document("dllab: what the pipeline learned, how fast, at what cost")
    doc.add(Paragraph("Built by the `report` stage from the metrics and figures of every stage in dvc.yaml. "
                      "Compare experiments with `dvc exp show`, `dvc metrics diff` and `dvc plots diff`."))
    mnist_section(doc, reports, params, machine)
    pipeline_section(doc, reports, dvc_yaml)
    return doc
