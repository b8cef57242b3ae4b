"""The real `dvc repro` of the WHOLE pipeline in a temporary copy of the repository, with tiny params:
download, train, evaluate, tokenizer, index, voices, serve check and report, then the report mentions each
system."""
import json
import re

import pytest

from tests.chat import helpers
from tests.conftest import copy_repo, run_in, set_params, stages_run

pytestmark = pytest.mark.slow
LM_TRAINING = {"context": 16, "batch_size": 8, "max_steps": 10, "warmup_steps": 2, "eval_interval": 5,
               "eval_batches": 1, "max_seconds": 0}


# The outputs whose bytes differ between two identical runs, and why (docs/pipeline.md, "Reproducibility", lists them
# too): every stage's record of its times; Chroma's SQLite and HNSW files (random ids, timestamps); retrieval
# latencies in rag_evaluate's metrics and per-question file; the answers' time to first word in chat_evaluate's
# metrics; the serve check's timings; the report pages, which show all these times. Everything else must be the
# same bytes.
NONDETERMINISTIC = {"models/chromadb", "reports/rag/metrics.json", "reports/rag/questions.json",
                    "reports/chat/metrics.json", "reports/serve/metrics.json", "reports/index.html",
                    "reports/README.md"}


def tiny_repo(root, tmp_path_factory, mnist_raw):
    """A copy of the repository with tiny params for every stage."""
    repo = copy_repo(root)
    set_params(repo, "mnist", sources=[f"dir:{mnist_raw}", "pypi"], hidden=[16], epochs=1, train_limit=1000,
               val_size=200)
    set_params(repo, "corpus", max_chars=30_000)
    set_params(repo, "tokenizer", vocab_size=350)
    set_params(repo, "lstm", embed=16, hidden=16, layers=1, **LM_TRAINING)
    set_params(repo, "transformer", dim=16, layers=1, heads=2, **LM_TRAINING)
    set_params(repo, "lm_evaluate", test_chars=1000, max_new_tokens=4)
    set_params(repo, "rag", docs_dir="tests/chat/docs", chunk_size=400, chunk_overlap=50)
    set_params(repo, "llm", source=str(helpers.model_file(tmp_path_factory.getbasetemp())), max_tokens=8,
               temperature=0.0)
    set_params(repo, "judge", source=str(helpers.model_file(tmp_path_factory.getbasetemp())))  # not 1.1 GB here
    set_params(repo, "speech_evaluate", questions=1, answers=1)  # Kokoro and Whisper, on two short texts
    return repo


def output_hashes(repo) -> dict[str, str]:
    import yaml

    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, mnist_raw):
    repo = tiny_repo(tmp_path_factory.mktemp("first"), tmp_path_factory, mnist_raw)
    return repo, run_in(repo, "dvc", "repro", timeout=900)


def test_whole_pipeline_with_tiny_params_ends_in_a_report(first_run):
    repo, result = first_run

    ran = stages_run(result.stdout)
    stages = ["mnist_download", "mnist_train", "mnist_evaluate", "corpus_download", "tokenizer_train",
              "lstm_train", "transformer_train", "lm_evaluate", "rag_index", "rag_evaluate", "chat_evaluate",
              "llm_download", "judge_download", "kokoro_download", "whisper_download", "speech_evaluate", "serve", "report"]
    assert sorted(ran) == sorted(stages) and ran[-1] == "report"
    page = (repo / "reports/index.html").read_text(encoding="utf-8")
    for system in ["MNIST", "LSTM et Transformer", "Base de connaissances", "Les réponses du chatbot", "Chatbot vocal",
                   "Les voix : intelligibilité", "Pipeline"]:
        assert system in page
    assert re.search(r"\d+ objectifs? atteints? sur \d+", page)  # the first screen judges the tiny run too
    assert "Comment faire une tarte aux pommes ?" in page  # a test question and its answer
    markdown = (repo / "reports/README.md").read_text(encoding="utf-8")
    assert "## Base de connaissances : la recherche" in markdown and "(mnist/figures/confusion_matrix.png)" in markdown
    records = {p.stem: json.loads(p.read_text()) for p in (repo / "reports/pipeline").glob("*.json")}
    assert set(stages) <= set(records) and all(r["peak_memory_mb"] > 0 for r in records.values())

    again = run_in(repo, "dvc", "repro")
    assert stages_run(again.stdout) == []


def test_a_second_copy_gives_the_same_bytes_for_every_deterministic_output(first_run, tmp_path_factory, mnist_raw):
    first = output_hashes(first_run[0])
    repo = tiny_repo(tmp_path_factory.mktemp("second"), tmp_path_factory, mnist_raw)
    run_in(repo, "dvc", "repro", timeout=900)
    second = output_hashes(repo)
    assert set(first) == set(second)
    differ = {path for path in first if first[path] != second[path]}
    records = {path for path in first if path.startswith("reports/pipeline/")}
    assert differ - records <= NONDETERMINISTIC, "outputs that should be deterministic differ"
    assert {"models/lstm/model.pt", "models/transformer/model.pt", "models/mnist/model.pt", "reports/lm/metrics.json",
            "reports/rag/index.json", "reports/chat/answers.json", "reports/chat/answers.md",
            "reports/chat/calibration.png", "models/kokoro", "models/whisper", "reports/speech/metrics.json",
            "reports/speech/transcripts.json", "reports/speech/clips"}.isdisjoint(differ)


def test_an_experiment_is_compared_with_its_baseline_commit_in_exp_show_and_the_report(first_run):
    """The README's experiment, on the tiny pipeline: commit the run, change one LSTM param in an experiment
    that names the commit as the report's baseline. Last in this file: it changes the first run's workspace."""
    repo, _ = first_run
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    run_in(repo, *git, "add", "-A")
    run_in(repo, *git, "commit", "-q", "-m", "the baseline run")
    baseline = run_in(repo, "git", "rev-parse", "HEAD").stdout.strip()

    result = run_in(repo, "dvc", "exp", "run", "-S", "lstm.hidden=24", "-S", f"report.lm_baseline={baseline}")
    assert {"lstm_train", "lm_evaluate", "report"} <= set(stages_run(result.stdout))
    assert "transformer_train" not in stages_run(result.stdout)

    shown = json.loads(run_in(repo, "dvc", "exp", "show", "--json").stdout)
    # The workspace (now the experiment's result), the baseline commit and, under it, the experiment.
    runs = [data for rev in shown for data in [rev["data"], *(e["revs"][0]["data"] for e in rev["experiments"] or [])]]
    hidden = {r["params"]["params.yaml"]["data"]["lstm"]["hidden"] for r in runs}
    assert hidden == {16, 24}
    metrics = [r["metrics"]["reports/lm/metrics.json"]["data"]["lstm"]["test_bpc"] for r in runs]
    assert len(set(metrics)) == 2  # each run shows its own model's number

    markdown = (repo / "reports/README.md").read_text(encoding="utf-8")
    assert f"### Expérience : cette exécution face à commit {baseline[:10]}" in markdown
    section = markdown.split("### Expérience")[1].split("\n## ")[0]
    assert "| lstm.hidden | 16 | 24 |" in section and "| bits par caractère de validation à pas égaux (10) |" in section
    assert "| bits par caractère sur le test |" in section and "le transformer" not in section  # unchanged: not compared
