"""The search API the chatbot calls: ranked hits with file and page, reopening across processes."""
import hashlib
import os
import subprocess
import sys

import pytest

from dllab.errors import UserError
from dllab.rag.index import build_index
from dllab.rag.search import Hit, Retriever, search
from tests.conftest import REPO
from tests.rag.conftest import SMALL_PARAMS


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from tests.rag.conftest import PDF_PAGES, RECIPE, make_pdf

    docs = tmp_path_factory.mktemp("docs")
    (docs / "recette.txt").write_text(RECIPE, encoding="utf-8")
    make_pdf(docs / "variantes.pdf", PDF_PAGES)
    index = tmp_path_factory.mktemp("index")
    build_index(docs, index, SMALL_PARAMS)
    return index


def folder_digest(folder) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_search_returns_ranked_hits_with_file_and_page(index):
    hits = search("Quelle crème pour la tarte alsacienne ?", k=3, index_dir=index)
    assert len(hits) == 3 and all(isinstance(h, Hit) for h in hits)
    assert (hits[0].file, hits[0].page) == ("variantes.pdf", 2) and "alsacienne" in hits[0].text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    text_hit = search("Combien de farine pour la pâte brisée ?", k=1, index_dir=index)[0]
    assert (text_hit.file, text_hit.page) == ("recette.txt", None) and "250 g de farine" in text_hit.text
    assert len({h.chunk_id for h in hits}) == 3


def test_dense_and_lexical_halves_can_be_weighed(index):
    retriever = Retriever.open(index)
    try:
        assert retriever.lexical_weight == SMALL_PARAMS.lexical_weight  # recorded in the index
        for weight in (0.0, 1.0):
            assert len(retriever.search("tarte normande au calvados", 2, lexical_weight=weight)) == 2
        assert retriever.search("   ", 4) == []
        assert len(retriever.search("tarte", 100)) == len(retriever)  # k beyond the index: every chunk once
    finally:
        retriever.close()


def test_reading_never_changes_the_index_files(index):
    """Chroma writes on open; the retriever reads a copy so the DVC output stays identical."""
    before = folder_digest(index)
    Retriever.open(index).search("tarte", 2)
    assert folder_digest(index) == before


def test_the_index_reopens_in_another_process(index):
    code = ("from dllab.rag.search import search; "
            f"hits = search('La tarte normande et le calvados', 1, {str(index)!r}); "
            "print(hits[0].file, hits[0].page)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["variantes.pdf", "1"]


def test_a_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(UserError, match=r"no knowledge-base index there; build it with `dvc repro rag_index`"):
        Retriever.open(tmp_path / "nothing")
