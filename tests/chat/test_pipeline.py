"""The real `dvc repro serve` in a temporary copy of the repository: tiny documents, short answers."""
import json

import pytest

from tests.chat import helpers
from tests.conftest import copy_repo, run_in, set_params, stages_run

pytestmark = pytest.mark.slow


def test_repro_serve_downloads_indexes_serves_and_stops(tmp_path, tmp_path_factory):
    repo = copy_repo(tmp_path / "repo")
    model = helpers.model_file(tmp_path_factory.getbasetemp())
    set_params(repo, "llm", source=str(model), max_tokens=8, temperature=0.0)
    set_params(repo, "rag", docs_dir="tests/chat/docs", chunk_size=400, chunk_overlap=50)
    set_params(repo, "chat", top_k=2)
    result = run_in(repo, "dvc", "repro", "serve", timeout=600)
    ran = stages_run(result.stdout)
    assert sorted(ran) == ["llm_download", "rag_index", "serve"] and ran[-1] == "serve"
    assert "3 questions answered with sources and audio" in result.stdout

    metrics = json.loads((repo / "reports/serve/metrics.json").read_text())
    assert metrics["questions"] == 3 and metrics["first_token_s"] > 0 and metrics["audio_seconds"] > 0
    for turn in metrics["turns"]:
        assert turn["answer"] and turn["sources"][0]["file"] == "tarte.txt"
        assert 0 < turn["answer_tokens"] <= 8
    assert metrics["turns"][0]["question"] == "Quelles sont les différentes variantes de la tarte aux pommes ?"
    assert stages_run(run_in(repo, "dvc", "repro", "serve").stdout) == []
