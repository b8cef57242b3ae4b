"""A small sweep through DVC's experiment queue: two experiments queued with `dvc exp run --queue`, run side by
side by `dvc queue start -j 2` with one thread each (DLLAB_THREADS=1: two jobs on two cores; the second one
also trains under torchrun, through `-S mnist.nproc=2`), both listed by `dvc exp show` with their own params and
metrics."""
import json
import os
import subprocess
import time

import psutil
import pytest

from tests.conftest import BIN, copy_repo, run_in, set_params

pytestmark = pytest.mark.slow
TINY = {"hidden": [16], "epochs": 1, "train_limit": 1000, "val_size": 200, "batch_size": 100}
# The second one also trains under torchrun (mnist.nproc=2): `dvc exp run -S mnist.nproc=2` needs nothing else.
SWEEP = {"lr-002": {"lr": 0.002, "nproc": 1}, "lr-005": {"lr": 0.005, "nproc": 2}}


@pytest.fixture
def repo(tmp_path, mnist_raw):
    repo = copy_repo(tmp_path)
    set_params(repo, "mnist", sources=[f"dir:{mnist_raw}"], **TINY)
    run_in(repo, "git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qam", "tiny")
    yield repo
    # Whatever happened, no queue worker of this repository outlives the test.
    run_in(repo, "dvc", "queue", "stop", "--kill", check=False, timeout=60)
    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if process.info["cwd"] == str(repo) and "queue-worker" in " ".join(process.info["cmdline"] or []):
                process.kill()
        except psutil.Error:
            pass


def start_workers(repo, jobs: int, threads: int) -> None:
    """`DLLAB_THREADS=<threads> dvc queue start -j <jobs>`: the workers are daemons that keep the output
    streams they inherit, so those go to a file (a pipe would stay open until the workers exit)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(repo), "DLLAB_THREADS": str(threads)}
    with open(repo.parent / "queue-start.log", "w") as log:
        subprocess.run(["dvc", "queue", "start", "-j", str(jobs)], cwd=repo, env=env, stdout=log,
                       stderr=subprocess.STDOUT, timeout=60, check=True)


def wait_for_queue(repo, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run_in(repo, "dvc", "queue", "status", timeout=60).stdout
        if "Queued" not in status and "Running" not in status:
            return status
        time.sleep(5)
    raise AssertionError(f"the queue did not finish in {timeout} s:\n{status}")


def experiments(shown: list) -> dict:
    """``dvc exp show --json`` → {experiment name: its data (params, metrics)}."""
    return {rev["name"]: rev["data"] for baseline in shown for exp in baseline.get("experiments") or []
            for rev in exp["revs"]}


def test_two_queued_experiments_run_side_by_side_and_show_their_own_metrics(repo):
    for name, values in SWEEP.items():
        overrides = [arg for key, value in values.items() for arg in ("-S", f"mnist.{key}={value}")]
        run_in(repo, "dvc", "exp", "run", "--queue", *overrides, "-n", name, "mnist_evaluate", timeout=120)
    start_workers(repo, jobs=2, threads=1)
    status = wait_for_queue(repo, timeout=600)
    assert status.count("Success") == 2, status

    shown = experiments(json.loads(run_in(repo, "dvc", "exp", "show", "--json", timeout=120).stdout))
    assert set(SWEEP) <= set(shown)
    accuracies = set()
    for name, values in SWEEP.items():
        data = shown[name]
        assert data["params"]["params.yaml"]["data"]["mnist"]["lr"] == values["lr"]
        metrics = data["metrics"]["reports/mnist/metrics.json"]["data"]
        assert 0.1 < metrics["test_accuracy"] <= 1
        accuracies.add(metrics["test_accuracy"])
        record = data["metrics"]["reports/pipeline/mnist_train.json"]["data"]
        assert record["threads"] == 1  # DLLAB_THREADS reached the queued job
        assert record["processes"] == values["nproc"]
    assert len(accuracies) == 2  # each its own result, not a copy
