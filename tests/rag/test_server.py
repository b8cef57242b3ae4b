"""The knowledge base on a real Chroma server (`chroma run`, started by the fixture on a free loopback port):
the same index, the same incremental updates and the same search results as the embedded folder."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from dllab.errors import UserError
from dllab.rag.index import build_index
from dllab.rag.search import Retriever
from dllab.rag.server import MANIFEST, ServerStore, connect, current_version
from tests.conftest import REPO
from tests.rag.conftest import HISTORY, SMALL_PARAMS

QUESTIONS = ["Combien de beurre pour la pâte ?", "Où est née la tarte Tatin ?", "Quelle crème dans la normande ?",
             "temperature du four", "What is this about?"]


def versions(url: str) -> list[str]:
    client = connect(url)
    return sorted(c.name for c in client.list_collections() if c.name != "knowledge_base")


@pytest.fixture
def on_server(chroma_server):
    """``rag`` params for a server index, after clearing the server (each test starts with none)."""
    client = connect(chroma_server)
    for collection in client.list_collections():
        client.delete_collection(collection.name)
    return SMALL_PARAMS.with_values(chroma_url=chroma_server)


def test_search_on_the_server_returns_what_the_embedded_index_returns(docs, tmp_path, on_server):
    embedded = build_index(docs, tmp_path / "embedded", SMALL_PARAMS)
    served = build_index(docs, tmp_path / "served", on_server)
    for stats in (embedded, served):
        stats.pop("timing")
    assert served == embedded and served["chunks"] > 4
    assert sorted(p.name for p in (tmp_path / "served").iterdir()) == [MANIFEST]  # the server holds the data
    manifest = json.loads((tmp_path / "served" / MANIFEST).read_text())
    assert manifest["chroma_url"] == on_server.chroma_url and manifest["chunks"] == served["chunks"]

    local, remote = Retriever.open(tmp_path / "embedded"), Retriever.open(tmp_path / "served")
    try:
        for question in QUESTIONS:
            expected, found = local.search(question, k=4), remote.search(question, k=4)
            assert [h.chunk_id for h in found] == [h.chunk_id for h in expected], question
            assert [h.score for h in found] == pytest.approx([h.score for h in expected], abs=1e-4)
            assert [(h.file, h.page, h.text) for h in found] == [(h.file, h.page, h.text) for h in expected]
            units = [u for h in expected for u in h.text.split(". ")]
            assert remote.sentence_cosines(question, units) == pytest.approx(local.sentence_cosines(question, units),
                                                                              abs=1e-5)
        assert remote._sentence_vectors.keys() == local._sentence_vectors.keys()  # stored, not recomputed
    finally:
        local.close()
        remote.close()


def test_updates_on_the_server_are_incremental_and_swap_a_pointer(docs, tmp_path, on_server):
    url = on_server.chroma_url
    build_index(docs, tmp_path / "index", on_server)
    first = current_version(connect(url))
    reader = Retriever.open(tmp_path / "index")  # stays open across the rebuilds below

    again = build_index(docs, tmp_path / "index", on_server)
    assert again["chunks_added"] == again["sentences_added"] == 0 and again["files_unchanged"] == 2
    second = current_version(connect(url))
    assert second != first and versions(url) == sorted([first, second, f"{first}-sentences", f"{second}-sentences"])

    (docs / "histoire.txt").write_text(HISTORY, encoding="utf-8")
    added = build_index(docs, tmp_path / "index", on_server)
    assert added["files_added"] == 1 and added["files_unchanged"] == 2 and 0 < added["chunks_added"] < added["chunks"]
    third = current_version(connect(url))
    assert first not in versions(url) and {second, third} <= set(versions(url))  # the previous one is kept

    hits = reader.search("Où est née la tarte Tatin ?", k=1)  # its version is gone: it follows the pointer
    assert hits[0].file == "histoire.txt" and len(reader) == added["chunks"]

    rebuilt = build_index(docs, tmp_path / "index", on_server.with_values(chunk_size=250))
    assert "chunk_size 300 → 250" in rebuilt["rebuilt"] and rebuilt["chunks_added"] == rebuilt["chunks"]


def test_a_build_that_fails_leaves_the_current_index_whole(docs, tmp_path, on_server, monkeypatch):
    url = on_server.chroma_url
    build_index(docs, tmp_path / "index", on_server)
    before = current_version(connect(url))
    manifest = (tmp_path / "index" / MANIFEST).read_bytes()
    stray = ServerStore(connect(url))  # a build killed outright: a version that no pointer names
    stray.existing()

    def broken(*args):
        raise RuntimeError("killed mid-update")

    monkeypatch.setattr("dllab.rag.index.add_chunks", broken)
    (docs / "histoire.txt").write_text(HISTORY, encoding="utf-8")
    with pytest.raises(RuntimeError, match="killed mid-update"):
        build_index(docs, tmp_path / "index", on_server)
    assert current_version(connect(url)) == before and (tmp_path / "index" / MANIFEST).read_bytes() == manifest
    assert stray.version in versions(url)
    retriever = Retriever.open(tmp_path / "index")
    assert all(hit.file != "histoire.txt" for hit in retriever.search("tarte Tatin Sologne", k=10))

    monkeypatch.undo()
    build_index(docs, tmp_path / "index", on_server)
    assert stray.version not in versions(url)  # the next build deletes what killed builds left


def test_the_stage_with_chroma_url_and_its_mistakes(docs, tmp_path, on_server):
    def stage(chroma_url: str) -> subprocess.CompletedProcess:
        params = {"rag": {**SMALL_PARAMS.model_dump(), "docs_dir": str(docs), "top_k": 4, "chroma_url": chroma_url}}
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
        return subprocess.run([sys.executable, str(REPO / "stages/rag_index.py"), "--params", str(tmp_path / "params.yaml"),
                               "--index", str(tmp_path / "index"), "--metrics", str(tmp_path / "index.json")],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)})

    built = stage(on_server.chroma_url)
    assert built.returncode == 0, built.stderr
    assert json.loads((tmp_path / "index.json").read_text())["chunks"] > 4
    assert (tmp_path / "index" / MANIFEST).is_file()

    from web.client import free_port

    down = stage(f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 2
    assert down.stderr.strip().splitlines()[-1].endswith("no Chroma server answers there (ValueError); start one "
                                                         "with `chroma run --path DIR --port PORT`")
    wrong = stage("127.0.0.1:8001")
    assert wrong.returncode == 2 and "rag.chroma_url = '127.0.0.1:8001': expected http://HOST:PORT" in wrong.stderr


def test_a_server_index_whose_server_is_gone_says_so(tmp_path):
    from web.client import free_port

    (tmp_path / MANIFEST).write_text(json.dumps({"chroma_url": f"http://127.0.0.1:{free_port()}"}))
    with pytest.raises(UserError, match="no Chroma server answers there"):
        Retriever.open(tmp_path)
