"""Benchmark: train the default MNIST model from params.yaml and measure time, throughput and accuracy.

Writes reports/bench/mnist.json with the machine description. Run: `make bench` or
`python bench/mnist.py` (needs the data: `dvc repro mnist_download`).
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from dllab.files import write_json
from dllab.mnist.config import MnistParams
from dllab.mnist.evaluate import evaluate
from dllab.mnist.train import train
from dllab.params import load
from dllab.runtime import machine_description, pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="reports/bench/mnist.json")
    args = parser.parse_args()
    params = load(args.params, MnistParams, only=MnistParams.TRAIN_KEYS)
    device = pick_device()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary, timing = train(params, args.data, Path(tmp) / "model.pt", Path(tmp) / "history.csv", device)
        wall = time.perf_counter() - started
        results = evaluate(Path(tmp) / "model.pt", args.data, device)
    report = {
        "benchmark": "mnist",
        "params": params.model_dump(exclude=set(MnistParams.DOWNLOAD_KEYS)),
        "test_accuracy": results.metrics["test_accuracy"],
        "test_loss": results.metrics["test_loss"],
        "train_seconds": timing["train_seconds"],
        "train_wall_seconds_with_data_loading": round(wall, 2),
        "seconds_per_epoch": timing["seconds_per_epoch"],
        "train_images_per_second": timing["train_images_per_second"],
        "inference_images_per_second": results.inference_images_per_second,
        "targets": {"test_accuracy_min": 0.983, "train_seconds_max": 90},
        "machine": machine_description(device),
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k not in ("params", "machine")}, indent=2))


if __name__ == "__main__":
    main()
