"""The LM training stage under the real `torchrun --nproc_per_node 2` (gloo on CPU, loopback) against one
process with the same global batch: the same losses, and a checkpoint that loads and scores in one process."""
import csv
import json
import sys

import pytest
import torch
import yaml

from tests.conftest import REPO, run_in

pytestmark = pytest.mark.slow
LSTM = {"embed": 16, "hidden": 32, "layers": 1, "tie_weights": False, "context": 16, "batch_size": 8,
        "lr": 0.003, "weight_decay": 0.01, "warmup_steps": 2, "max_steps": 6, "max_seconds": 0, "grad_clip": 1.0,
        "eval_interval": 3, "eval_batches": 2, "dropout": 0.0, "seed": 3, "nproc": 1}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "train.txt").write_text(text[: len(text) * 3 // 4])
    (folder / "val.txt").write_text(text[len(text) * 3 // 4:])
    return folder


def train(tmp_path, name, corpus, tokenizer, launcher=(), **changes):
    """Run stages/lstm_train.py (under ``launcher`` if given) from the repository root; its outputs."""
    params = tmp_path / f"{name}.yaml"
    params.write_text(yaml.safe_dump({"lstm": {**LSTM, **changes}}))
    model, history = tmp_path / name / "model.pt", tmp_path / name / "history.csv"
    result = run_in(REPO, *launcher, "stages/lstm_train.py", "--corpus", str(corpus), "--tokenizer",
                    str(tokenizer.path), "--params", str(params), "--model", str(model), "--history", str(history),
                    "--device", "cpu", timeout=300)
    rows = list(csv.DictReader(history.open()))
    return json.loads(result.stdout), rows, model


@pytest.fixture(scope="module")
def single(tmp_path_factory, corpus, tokenizer):
    return train(tmp_path_factory.mktemp("single"), "single", corpus, tokenizer, [sys.executable])


def assert_same_losses(rows, reference):
    assert [row["step"] for row in rows] == [row["step"] for row in reference] == ["0", "3", "6"]
    for row, ref in zip(rows, reference):
        assert row["tokens"] == ref["tokens"]  # the global batch: 8 windows a step whatever the processes
        for key in ("train_loss", "val_loss"):
            assert float(row[key]) == pytest.approx(float(ref[key]), rel=1e-4, nan_ok=True), (row["step"], key)
    assert float(rows[-1]["train_loss"]) != float(rows[1]["train_loss"])  # it trained


def test_torchrun_two_processes_give_the_losses_of_one(tmp_path, corpus, tokenizer, single):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    summary, rows, model_path = train(tmp_path, "ddp", corpus, tokenizer, torchrun)
    assert summary["processes"] == 2 and summary["steps"] == 6
    assert_same_losses(rows, single[1])

    # The checkpoint rank 0 wrote loads in this one process and scores the validation text as training did.
    from dllab.text.checkpoint import load_checkpoint
    from dllab.text.config import LstmParams
    from dllab.text.tokenizer import Tokenizer
    from dllab.text.train import Validator

    model, checkpoint = load_checkpoint(model_path)
    assert set(checkpoint["state_dict"]) == set(torch.load(single[2], weights_only=True)["state_dict"])
    val_ids = torch.tensor(Tokenizer(tokenizer.path).encode_long((corpus / "val.txt").read_text()))
    scored = Validator(val_ids, tokenizer, LstmParams(**LSTM), torch.device("cpu"))(model)
    assert scored["val_loss"] == pytest.approx(checkpoint["summary"]["best_val_loss"], rel=1e-6)
    assert scored["val_loss"] == pytest.approx(single[0]["best_val_loss"], rel=1e-4)


def test_the_nproc_param_starts_torchrun_itself(tmp_path, corpus, tokenizer, single):
    summary, rows, _ = train(tmp_path, "param", corpus, tokenizer, [sys.executable], nproc=2)
    assert summary["processes"] == 2
    assert_same_losses(rows, single[1])


def test_a_batch_that_does_not_split_stops_before_any_process_starts(tmp_path, corpus, tokenizer):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"lstm": {**LSTM, "batch_size": 7, "nproc": 2}}))
    failed = run_in(REPO, sys.executable, "stages/lstm_train.py", "--corpus", str(corpus), "--tokenizer",
                    str(tokenizer.path), "--params", str(params), "--model", str(tmp_path / "m.pt"), check=False,
                    timeout=120)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert (f"error: {params}: lstm.batch_size = 7 is not a multiple of the 2 training processes"  # the --params file
            in failed.stderr)
    assert not (tmp_path / "m.pt").exists()


def test_a_time_cap_stops_every_process_at_the_same_step(tmp_path, corpus, tokenizer):
    """Each rank measures its own time: they agree on the step to stop at, or the last all-reduce would hang."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    summary, rows, _ = train(tmp_path, "capped", corpus, tokenizer, torchrun, max_steps=1_000_000,
                             eval_interval=1_000_000, max_seconds=2)
    assert summary["stopped_early"] == "time cap" and 0 < summary["steps"] < 1_000_000
    assert [row["step"] for row in rows] == ["0", str(summary["steps"])]
