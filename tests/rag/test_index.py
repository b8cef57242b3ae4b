"""Building and updating the index: reuse, incremental changes with stable ids, rebuilds, bad inputs."""
import shutil

import pytest

from dllab.errors import DataError
from dllab.rag.config import RagParams
from dllab.rag.index import build_index
from dllab.rag.search import Retriever
from tests.rag.conftest import HISTORY, PDF_PAGES, RECIPE, SMALL_PARAMS, make_pdf, make_scan_pdf


def ids_by_file(index_dir) -> dict[str, set[str]]:
    from dllab.rag.store import COLLECTION, open_client

    client = open_client(index_dir)
    try:
        stored = client.get_collection(COLLECTION).get(include=["metadatas"])
    finally:
        client.close()
    files: dict[str, set[str]] = {}
    for chunk_id, meta in zip(stored["ids"], stored["metadatas"]):
        files.setdefault(meta["file"], set()).add(chunk_id)
    return files


@pytest.fixture
def built(docs, tmp_path):
    index = tmp_path / "index"
    stats = build_index(docs, index, SMALL_PARAMS)
    return docs, index, stats


def test_first_build_indexes_every_page_and_a_second_run_embeds_nothing(built):
    docs, index, stats = built
    assert stats["files"] == stats["files_indexed"] == stats["files_added"] == 2
    assert stats["pages"] == 4  # 1 for the text file + 3 PDF pages
    assert stats["chunks"] == stats["chunks_added"] > 4 and stats["timing"]["chunks_per_second"] > 0
    assert stats["files_without_text"] == 0 and stats["rebuilt"] is None and stats["dimension"] == 384
    before = ids_by_file(index)
    again = build_index(docs, index, SMALL_PARAMS)
    assert (again["files_unchanged"], again["chunks_added"], again["chunks_removed"]) == (2, 0, 0)
    assert again["chunks"] == stats["chunks"] and ids_by_file(index) == before


def test_editing_one_file_replaces_only_its_changed_chunks(built):
    docs, index, stats = built
    before = ids_by_file(index)
    (docs / "recette.txt").write_text(RECIPE + "\nAstuce : ajoutez une pincée de cannelle aux pommes.\n",
                                      encoding="utf-8")
    update = build_index(docs, index, SMALL_PARAMS)
    after = ids_by_file(index)
    assert (update["files_updated"], update["files_unchanged"], update["files_added"]) == (1, 1, 0)
    assert after["variantes.pdf"] == before["variantes.pdf"]  # the other file is untouched
    new_ids = after["recette.txt"] - before["recette.txt"]
    gone_ids = before["recette.txt"] - after["recette.txt"]
    assert len(new_ids) == update["chunks_added"] >= 1 and len(gone_ids) == update["chunks_removed"]
    assert before["recette.txt"] & after["recette.txt"]  # unchanged chunks of the edited file are kept
    assert update["chunks"] == sum(map(len, after.values()))  # no duplicates
    assert any("cannelle" in h.text for h in Retriever.open(index).search("cannelle dans les pommes", 2))


def test_adding_and_removing_files(built):
    docs, index, stats = built
    before = ids_by_file(index)
    (docs / "histoire.md").write_text(HISTORY, encoding="utf-8")
    added = build_index(docs, index, SMALL_PARAMS)
    assert (added["files_added"], added["files_unchanged"]) == (1, 2)
    assert ids_by_file(index)["recette.txt"] == before["recette.txt"]
    assert added["chunks"] == stats["chunks"] + added["chunks_added"]
    (docs / "variantes.pdf").unlink()
    removed = build_index(docs, index, SMALL_PARAMS)
    assert (removed["files_removed"], removed["chunks_removed"]) == (1, len(before["variantes.pdf"]))
    assert set(ids_by_file(index)) == {"recette.txt", "histoire.md"}


def test_changing_the_embedding_model_or_chunking_rebuilds_cleanly(built, tiny_model):
    docs, index, stats = built
    tiny = build_index(docs, index, SMALL_PARAMS.with_values(embedding_model=tiny_model))
    assert tiny["rebuilt"].startswith("embedding_model 'default' →")
    assert tiny["dimension"] == 32 and tiny["chunks"] == tiny["chunks_added"] == stats["chunks"]
    retriever = Retriever.open(index)  # opens with the model recorded in the index: no dimension mismatch
    assert len(retriever.search("tarte", 3)) == 3
    retriever.close()
    back = build_index(docs, index, SMALL_PARAMS)
    assert back["dimension"] == 384 and back["rebuilt"] and back["chunks"] == stats["chunks"]
    rechunked = build_index(docs, index, SMALL_PARAMS.with_values(chunk_size=200))
    assert "chunk_size 300 → 200" in rechunked["rebuilt"] and rechunked["chunks"] > stats["chunks"]


def test_bad_files_are_skipped_by_name_and_counted(built, caplog):
    docs, index, stats = built
    make_scan_pdf(docs / "scan.pdf")
    make_pdf(docs / "locked.pdf", ["secret"], password="pw")
    (docs / "vide.txt").write_bytes(b"")
    (docs / "photo.txt").write_bytes(bytes(range(256)) * 10)
    shutil.copy(docs / "recette.txt", docs / "recette-copie.txt")
    result = build_index(docs, index, SMALL_PARAMS)
    kinds = {s["file"]: s["kind"] for s in result["skipped"]}
    assert kinds == {"scan.pdf": "no_text", "locked.pdf": "encrypted", "vide.txt": "empty", "photo.txt": "binary",
                     "recette-copie.txt": "duplicate"}  # of two copies, the one already indexed is kept
    assert result["files_without_text"] == 2 and result["files_skipped"] == 5
    assert "scan.pdf: no text layer" in caplog.text
    assert result["chunks"] == stats["chunks"]  # the good files are still there, once each


def test_strict_mode_stops_before_touching_the_index(built):
    docs, index, stats = built
    before = ids_by_file(index)
    make_scan_pdf(docs / "scan.pdf")
    with pytest.raises(DataError, match=r"scan\.pdf: no text layer.*rag\.strict is true"):
        build_index(docs, index, SMALL_PARAMS.with_values(strict=True))
    with pytest.raises(DataError, match=r"scan\.pdf"):  # not even a rebuild starts
        build_index(docs, index, SMALL_PARAMS.with_values(strict=True, chunk_size=200))
    assert ids_by_file(index) == before


def test_a_file_that_breaks_keeps_its_chunks_from_the_last_run(built):
    docs, index, stats = built
    before = ids_by_file(index)
    (docs / "variantes.pdf").write_bytes(b"%PDF-1.4 truncated")
    result = build_index(docs, index, SMALL_PARAMS)
    assert [s["kind"] for s in result["skipped"]] == ["corrupt"]
    assert ids_by_file(index) == before


def test_a_folder_without_documents_is_an_error(tmp_path):
    (tmp_path / "docs").mkdir()
    with pytest.raises(DataError, match=r"docs: no \.txt, \.md or \.pdf files to index.*in params\.yaml$"):
        build_index(tmp_path / "docs", tmp_path / "index", SMALL_PARAMS)
    other = RagParams.from_mapping(SMALL_PARAMS.model_dump(), source="other.yaml")  # the file given with --params
    with pytest.raises(DataError, match=r"nowhere: documents folder not found; set rag.docs_dir in other\.yaml$"):
        build_index(tmp_path / "nowhere", tmp_path / "index", other)


def test_deleting_a_paragraph_embeds_nothing_and_settles(built):
    docs, index, stats = built
    (docs / "recette.txt").write_text(RECIPE.split("\n\n")[0] + "\n", encoding="utf-8")
    shrunk = build_index(docs, index, SMALL_PARAMS)
    assert shrunk["files_updated"] == 1 and shrunk["chunks_removed"] >= 1
    settled = build_index(docs, index, SMALL_PARAMS)
    assert (settled["files_unchanged"], settled["chunks_added"], settled["chunks_removed"]) == (2, 0, 0)
