"""Reading files: PDF pages, encodings, clean-up, and every kind of bad input named with a clear outcome."""
from pathlib import Path

import pytest

from dllab.errors import DataError
from dllab.rag.documents import DocumentProblem, clean_text, list_files, load_document
from tests.rag.conftest import PDF_PAGES, make_pdf, make_scan_pdf


def load(path: Path):
    return load_document(path, path.parent)


def test_pdf_text_is_read_per_page_with_page_numbers(tmp_path):
    doc = load(make_pdf(tmp_path / "v.pdf", PDF_PAGES))
    assert doc.file == "v.pdf"
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert "calvados" in doc.pages[0].text and "cannelle" in doc.pages[1].text and "amande" in doc.pages[2].text
    assert len(doc.content_hash) == 64


def test_committed_pdf_has_several_pages_of_french_text():
    doc = load(Path(__file__).resolve().parents[2] / "data/rag/document.pdf")
    assert len(doc.pages) >= 5
    assert "tarte Tatin" in " ".join(p.text for p in doc.pages)
    assert not any("— " in p.text[-6:] for p in doc.pages)  # running page-number footers are dropped


def test_pdf_without_text_layer_is_reported_by_name(tmp_path):
    with pytest.raises(DocumentProblem, match=r"scan\.pdf: no text layer in its 2 page\(s\)") as caught:
        load(make_scan_pdf(tmp_path / "scan.pdf"))
    assert caught.value.kind == "no_text"


def test_encrypted_pdf_needs_its_password_but_an_empty_password_opens(tmp_path):
    with pytest.raises(DocumentProblem, match=r"locked\.pdf: encrypted PDF that needs a password") as caught:
        load(make_pdf(tmp_path / "locked.pdf", PDF_PAGES, password="secret"))
    assert caught.value.kind == "encrypted"
    opened = load(make_pdf(tmp_path / "print-protected.pdf", PDF_PAGES, password=""))
    assert len(opened.pages) == 3


def test_corrupt_pdf_is_named(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", PDF_PAGES).read_bytes()
    (tmp_path / "broken.pdf").write_bytes(good[: len(good) // 3])
    (tmp_path / "fake.pdf").write_text("this is not a PDF at all")
    for name in ["broken.pdf", "fake.pdf"]:
        with pytest.raises(DocumentProblem, match=rf"{name}: not a readable PDF") as caught:
            load(tmp_path / name)
        assert caught.value.kind == "corrupt"


@pytest.mark.parametrize("content", [b"", b"  \n\n \t\n"])
def test_empty_files_are_named(tmp_path, content):
    (tmp_path / "vide.txt").write_bytes(content)
    with pytest.raises(DocumentProblem, match=r"vide\.txt: empty file") as caught:
        load(tmp_path / "vide.txt")
    assert caught.value.kind == "empty"


def test_binary_file_named_txt_is_refused(tmp_path):
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 40)
    with pytest.raises(DocumentProblem, match=r"image\.txt: binary data") as caught:
        load(tmp_path / "image.txt")
    assert caught.value.kind == "binary"
    (tmp_path / "controls.txt").write_bytes(b"\x01\x02\x03\x04abc\x05\x06\x07\x08" * 100)
    with pytest.raises(DocumentProblem, match=r"controls\.txt: .* control characters"):
        load(tmp_path / "controls.txt")


def test_legacy_encoding_is_read_with_a_warning(tmp_path):
    (tmp_path / "ancien.txt").write_bytes("Crème brûlée, œufs et pâte feuilletée.".encode("cp1252"))
    doc = load(tmp_path / "ancien.txt")
    assert doc.pages[0].text == "Crème brûlée, œufs et pâte feuilletée."
    assert doc.pages[0].number is None
    assert doc.warnings == ["ancien.txt: not UTF-8; read as cp1252"]


def test_one_enormous_line_is_read_with_a_warning(tmp_path):
    (tmp_path / "ligne.txt").write_text("La pomme cuit doucement au four. " * 3000, encoding="utf-8")
    doc = load(tmp_path / "ligne.txt")
    assert "one line of 99,000 characters" in doc.warnings[0]


def test_clean_up_joins_hyphenated_and_wrapped_lines_and_keeps_paragraphs():
    raw = "La pâ-\ntisserie  fran\u00adçaise\r\nest  belle.\n\n\n  Deuxième\tparagraphe.  "
    assert clean_text(raw) == "La pâtisserie française est belle.\n\nDeuxième paragraphe."


def test_markdown_headings_lose_their_marks(tmp_path):
    (tmp_path / "notes.md").write_text("# Titre\n\nDu texte.\n\n## Sous-titre\n\nEncore.", encoding="utf-8")
    assert load(tmp_path / "notes.md").pages[0].text == "Titre\n\nDu texte.\n\nSous-titre\n\nEncore."


def test_listing_keeps_only_documents(tmp_path):
    for name in ["a.txt", "sub/b.md", "c.PDF", "d.yaml", ".hidden/e.txt", "f.docx"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in list_files(tmp_path)] == ["a.txt", "c.PDF", "sub/b.md"]
    with pytest.raises(DataError, match="nowhere: documents folder not found; set rag.docs_dir"):
        list_files(tmp_path / "nowhere")
