"""The chunker: size limit, overlap, pages, no empty chunks, stable ids."""
import pytest

from dllab.errors import ParamError
from dllab.rag.chunking import chunk_document, split_text
from dllab.rag.config import RagParams
from dllab.rag.documents import Document, Page

SENTENCES = " ".join(f"Phrase numéro {i} sur la cuisson des pommes au four." for i in range(40))


def test_chunks_respect_the_size_and_never_are_empty():
    text = "Titre\n\n" + SENTENCES + "\n\n\n\n" + "Fin."
    chunks = split_text(text, 200, 50)
    assert len(chunks) > 5
    assert all(0 < len(c) <= 200 and c == c.strip() for c in chunks)
    assert "Titre" in chunks[0] and chunks[-1].endswith("Fin.")


def test_consecutive_chunks_overlap_by_whole_sentences():
    chunks = split_text(SENTENCES, 200, 60)
    for previous, current in zip(chunks, chunks[1:]):
        first_sentence = current.split(". ")[0] + "."
        assert previous.endswith(first_sentence)  # the next chunk repeats the end of the previous one
    no_overlap = split_text(SENTENCES, 200, 0)
    assert " ".join(no_overlap) == SENTENCES  # without overlap, chunks partition the text exactly


def test_a_line_without_spaces_is_cut_to_the_size():
    blob = "x" * 1000
    assert "".join(split_text(blob, 300, 0)) == blob
    assert all(len(c) <= 300 for c in split_text(blob, 300, 50))


def test_chunks_keep_their_page_and_never_span_two_pages():
    doc = Document("a.pdf", [Page(1, SENTENCES), Page(2, "Deuxième page. Elle est courte.")], "hash")
    chunks = chunk_document(doc, 250, 40)
    assert {c.page for c in chunks} == {1, 2}
    assert [c.text for c in chunks if c.page == 2] == ["Deuxième page. Elle est courte."]
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.file == "a.pdf" for c in chunks)


def test_ids_depend_on_content_not_position():
    doc = Document("a.txt", [Page(None, "Intro.\n\n" + SENTENCES)], "h1")
    edited = Document("a.txt", [Page(None, "Une introduction bien plus longue, réécrite.\n\n" + SENTENCES)], "h2")
    before = {c.chunk_id for c in chunk_document(doc, 200, 0)}
    after = {c.chunk_id for c in chunk_document(edited, 200, 0)}
    assert len(before & after) >= len(before) - 2  # only the edited chunk(s) get new ids
    assert before != after
    repeated = Document("b.txt", [Page(None, "Même texte.\n\n" * 2 + SENTENCES)], "h3")
    ids = [c.chunk_id for c in chunk_document(repeated, 15, 0)]
    assert len(ids) == len(set(ids))  # identical chunks in one file still get distinct ids


def test_overlap_must_be_smaller_than_the_chunk():
    # The user's message comes from the params, naming the file; the chunker only refuses a caller's mistake.
    with pytest.raises(ParamError, match=r"^other.yaml: rag.chunk_overlap = 300 must be smaller than "
                                         r"rag.chunk_size = 300: each chunk repeats"):
        RagParams.from_mapping({"chunk_size": 300, "chunk_overlap": 300}, source="other.yaml")
    with pytest.raises(ParamError, match="rag.chunk_overlap = 400 must be smaller than rag.chunk_size = 300"):
        RagParams(chunk_size=300).with_values(chunk_overlap=400)
    doc = Document("a.txt", [Page(None, SENTENCES)], "h")
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk_document(doc, 300, 300)
