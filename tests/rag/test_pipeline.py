"""The real `dvc repro` of rag_index and rag_evaluate in a temporary copy of the repository."""
import json
import shutil

import pytest

from tests.conftest import copy_repo, run_in, set_params, stages_run
from tests.rag.test_index import ids_by_file

pytestmark = pytest.mark.slow


def index_ids(repo, tmp_path):
    """Chunk ids per file, read from a copy: opening Chroma writes to it, and the index is a DVC output."""
    copy = tmp_path / "index-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo / "models/chromadb", copy)
    return ids_by_file(copy)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    result = run_in(repo, "dvc", "repro", "rag_evaluate")
    assert stages_run(result.stdout) == ["rag_index", "rag_evaluate"]
    return repo


def test_repro_builds_the_index_and_measures_retrieval(repo):
    index = json.loads((repo / "reports/rag/index.json").read_text())
    assert (index["files"], index["files_indexed"], index["files_without_text"]) == (2, 2, 0)
    assert index["pages"] == 7 and index["chunks"] == index["chunks_added"] > 30
    metrics = json.loads((repo / "reports/rag/metrics.json").read_text())
    assert metrics["k"] == 4 and metrics["questions"] >= 23
    assert metrics["hit_at_k"] >= 0.9 and metrics["hit_at_1"] <= metrics["hit_at_k"]
    assert metrics["latency_ms_p95"] >= metrics["latency_ms_p50"] > 0
    assert "| 1 | Quelles sont les différentes variantes" in (repo / "reports/rag/questions.md").read_text()
    assert "hit_at_k" in run_in(repo, "dvc", "metrics", "show").stdout


def test_second_repro_does_nothing_and_an_edit_updates_only_that_file(repo, tmp_path):
    assert stages_run(run_in(repo, "dvc", "repro", "rag_evaluate").stdout) == []
    before = index_ids(repo, tmp_path)
    with open(repo / "data/rag/connaissances.txt", "a", encoding="utf-8") as f:
        f.write("\n\n9. UNE ASTUCE DE GRAND-MÈRE\n\nUne cuillère de crème fraîche dans la compote la rend onctueuse.\n")
    result = run_in(repo, "dvc", "repro", "rag_evaluate")
    assert stages_run(result.stdout) == ["rag_index", "rag_evaluate"]
    update = json.loads((repo / "reports/rag/index.json").read_text())
    after = index_ids(repo, tmp_path)
    assert (update["files_updated"], update["files_unchanged"], update["rebuilt"]) == (1, 1, None)
    assert after["document.pdf"] == before["document.pdf"]
    added = after["connaissances.txt"] - before["connaissances.txt"]
    assert len(added) == update["chunks_added"] and 1 <= len(added) <= 2  # only the new end is embedded
    assert update["chunks"] == sum(map(len, after.values()))


def test_bad_params_stop_the_stage_with_one_line(repo):
    set_params(repo, "rag", chunk_overlap=700)
    failed = run_in(repo, "dvc", "repro", "rag_index", check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "Traceback" not in output
    assert "error: params.yaml: rag.chunk_overlap = 700 must be smaller than rag.chunk_size = 600" in output
