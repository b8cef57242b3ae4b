"""The real `dvc repro serve` in a temporary copy of the repository: tiny documents, short answers."""
import json

import pytest

from dllab.speech.measure import word_error_rate
from tests.chat import helpers
from tests.conftest import copy_repo, run_in, set_params, stages_run

pytestmark = pytest.mark.slow


def test_repro_serve_downloads_indexes_serves_and_stops(tmp_path, tmp_path_factory):
    repo = copy_repo(tmp_path / "repo")
    model = helpers.model_file(tmp_path_factory.getbasetemp())
    set_params(repo, "llm", source=str(model), max_tokens=8, temperature=0.0)
    set_params(repo, "rag", docs_dir="tests/chat/docs", chunk_size=400, chunk_overlap=50)
    set_params(repo, "chat", top_k=2)
    set_params(repo, "judge", source=str(model))  # the small model judges too: CI does not fetch the 1.1 GB one
    result = run_in(repo, "dvc", "repro", "serve", "chat_evaluate", timeout=900)
    ran = stages_run(result.stdout)
    assert sorted(ran) == ["chat_evaluate", "judge_download", "kokoro_download", "llm_download", "rag_index",
                           "serve", "whisper_download"]
    assert "3 questions answered with sources and audio" in result.stdout

    metrics = json.loads((repo / "reports/serve/metrics.json").read_text())
    assert metrics["questions"] == 3 and metrics["first_token_s"] > 0 and metrics["audio_seconds"] > 0
    assert metrics["turns"][0]["question"] == "Quelles sont les différentes variantes de la tarte aux pommes ?"
    # the server said it with Kokoro, and Whisper heard its question's clip back through /transcribe
    heard = metrics["transcribed"]["text"]
    assert metrics["tts_engine"] == "kokoro" and word_error_rate([metrics["turns"][0]["question"]], [heard]) <= 0.4
    for turn in metrics["turns"]:  # quote mode, the default: cited sentences, no model token
        assert turn["sources"][0]["file"] == "tarte.txt" and turn["answer_tokens"] is None
        assert "[1]" in turn["answer"] or "[2]" in turn["answer"] or turn["answer"].startswith("Les documents")

    answers = json.loads((repo / "reports/chat/metrics.json").read_text())
    assert answers["questions"] == 66 and answers["answer_mode"] == "quote" and answers["faithful"] == 1.0
    assert answers["judged"] > 0  # the judge was asked about the ambiguous ones
    check = answers["check"]  # the untouched set, asked by the same stage and never calibrated on
    assert check["questions_file"] == "data/eval/other_authors/set_b.yaml" and check["questions"] == 40
    assert (repo / "reports/chat/check_answers.md").read_text().startswith("# Answers (quote mode")
    for key in ("correct", "french_ok", "declined", "wrongly_declined", "first_word_s_p50"):
        assert 0 <= answers[key] <= 1 or key == "first_word_s_p50"
    assert (repo / "reports/chat/answers.md").read_text().startswith("# Answers (quote mode")
    assert (repo / "reports/chat/calibration.png").read_bytes()[:4] == b"\x89PNG"
    assert stages_run(run_in(repo, "dvc", "repro", "serve", "chat_evaluate").stdout) == []

    set_params(repo, "chat", answer_mode="generate")  # the LLM writes the answers: serve reruns alone
    ran = stages_run(run_in(repo, "dvc", "repro", "serve", timeout=600).stdout)
    assert ran == ["serve"]
    for turn in json.loads((repo / "reports/serve/metrics.json").read_text())["turns"]:
        assert 0 < turn["answer_tokens"] <= 8
