"""Measuring a trained MLP on the 10,000 test images."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dllab.mnist.data import load_split, normalise
from dllab.mnist.model import CLASSES, load_checkpoint


@dataclass
class TestResults:
    images: np.ndarray  # (N, 28, 28) uint8, for figures
    labels: np.ndarray  # (N,)
    predictions: np.ndarray  # (N,)
    confidences: np.ndarray  # (N,) probability of the predicted class
    metrics: dict
    details: dict  # per-class scores, confusion matrix, model config
    inference_images_per_second: int  # a timing: for the stage record, not the metrics


@torch.no_grad()
def predict(model: torch.nn.Module, inputs: torch.Tensor, device: torch.device, batch_size: int = 2048):
    """Return softmax probabilities (N, 10) and the wall time spent in the model."""
    model.eval()
    chunks, started = [], time.perf_counter()
    for start in range(0, len(inputs), batch_size):
        chunks.append(F.softmax(model(inputs[start : start + batch_size].to(device)), dim=1).cpu())
    return torch.cat(chunks), time.perf_counter() - started


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    return np.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def per_class_scores(matrix: np.ndarray) -> dict:
    true_positives = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    return {str(c): {"precision": round(float(precision[c]), 4), "recall": round(float(recall[c]), 4),
                     "support": int(actual[c])} for c in range(len(matrix))}


def evaluate(model_path: str | Path, data_root: str | Path, device: torch.device) -> TestResults:
    model, checkpoint = load_checkpoint(model_path, device)
    images, labels = load_split(data_root, train=False)
    probabilities, seconds = predict(model, normalise(images), device)
    loss = F.nll_loss(torch.log(probabilities.clamp_min(1e-12)), labels).item()
    confidences, predictions = probabilities.max(1)
    labels_np, predictions_np = labels.numpy(), predictions.numpy()
    matrix = confusion_matrix(labels_np, predictions_np)
    training = checkpoint["summary"]
    metrics = {  # flat numbers: what `dvc metrics show` and `dvc exp show` compare (speeds: the stage record)
        "test_accuracy": round(float((predictions_np == labels_np).mean()), 5),
        "test_loss": round(loss, 5),
        "test_errors": int((predictions_np != labels_np).sum()),
        "best_epoch": training["best_epoch"],
        "parameters": training["parameters"],
    }
    details = {"per_class": per_class_scores(matrix), "confusion_matrix": matrix.tolist(),
               "model": checkpoint["config"], "test_images": len(labels_np)}
    return TestResults(images.numpy(), labels_np, predictions_np, confidences.numpy(), metrics, details,
                       round(len(labels_np) / seconds))
