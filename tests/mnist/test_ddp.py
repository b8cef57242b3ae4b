"""MNIST training through `mnist.nproc: 2` (the stage starts torchrun itself: two processes, gloo on CPU)
against one process with the same global batch: the same curves, and a model that loads in one process."""
import csv
import json
import sys

import pytest
import yaml

from tests.conftest import REPO, run_in

pytestmark = pytest.mark.slow
# 511 training images in batches of 50: the last batch (11) splits unevenly, 6 and 5.
MNIST = {"hidden": [16], "activation": "relu", "dropout": 0.0, "lr": 0.003, "weight_decay": 0.01,
         "lr_schedule": "cosine", "batch_size": 50, "epochs": 2, "val_size": 100, "train_limit": 611,
         "augment_shift": 2, "seed": 5, "nproc": 1}


def train(tmp_path, mnist_raw, nproc):
    params = tmp_path / f"params{nproc}.yaml"
    params.write_text(yaml.safe_dump({"mnist": {**MNIST, "nproc": nproc}}))
    out = tmp_path / str(nproc)
    result = run_in(REPO, sys.executable, "stages/mnist_train.py", "--data", str(mnist_raw.parents[1]),
                    "--params", str(params), "--model", str(out / "model.pt"), "--history",
                    str(out / "history.csv"), "--device", "cpu", "--record", str(out / "record.json"), timeout=300)
    return json.loads(result.stdout), list(csv.DictReader((out / "history.csv").open())), out


def test_two_processes_give_the_curves_of_one(tmp_path, mnist_raw):
    one, one_rows, _ = train(tmp_path, mnist_raw, 1)
    two, two_rows, out = train(tmp_path, mnist_raw, 2)
    assert len(one_rows) == len(two_rows) == 2
    for row, ref in zip(two_rows, one_rows):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert float(row[key]) == pytest.approx(float(ref[key]), rel=1e-4), (row["epoch"], key)
    record = json.loads((out / "record.json").read_text())  # rank 0 alone writes the stage record
    assert record["processes"] == two["processes"] == 2 and len(record["epoch_seconds"]) == 2

    # The model rank 0 saved loads in one process and scores the test set like the single process's model.
    import torch

    from dllab.mnist.evaluate import evaluate

    cpu, data = torch.device("cpu"), mnist_raw.parents[1]
    ddp = evaluate(out / "model.pt", data, cpu).metrics  # chance: 0.1
    single = evaluate(tmp_path / "1" / "model.pt", data, cpu).metrics
    assert ddp["parameters"] == one["parameters"] and ddp["best_epoch"] == one["best_epoch"]
    assert ddp["test_accuracy"] > 0.3 and abs(ddp["test_errors"] - single["test_errors"]) <= 2
    assert ddp["test_loss"] == pytest.approx(single["test_loss"], rel=1e-3)
