"""Reading the knowledge-base files: PDF text per page, text files in UTF-8 or a legacy encoding, clean-up.

A file that cannot give text (a scan, an encrypted or corrupt PDF, an empty or binary file) raises
``DocumentProblem`` naming the file, what is wrong and what to do; the indexer decides whether that skips the
file or stops the build (``rag.strict``).
"""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from dllab.errors import DataError
from dllab.rag.structure import is_heading

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".pdf")
LONG_LINE = 20_000  # characters without a line break: worth a warning (the chunker still splits it)
_PAGE_NUMBER = re.compile(r"^\s*[-–—]?\s*(page\s*)?\d{1,4}(\s*/\s*\d{1,4})?\s*[-–—]?\s*$", re.IGNORECASE)


class DocumentProblem(DataError):
    """A file that gives no usable text; ``kind`` is one of no_text, encrypted, corrupt, empty, binary."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Page:
    number: int | None  # 1-based PDF page; None for text files
    text: str  # cleaned: paragraphs separated by one blank line


@dataclass
class Document:
    file: str  # path relative to the documents folder, with '/'
    pages: list[Page]
    content_hash: str  # sha256 of the file's bytes
    warnings: list[str] = field(default_factory=list)


def list_files(docs_dir: str | Path, params_file: str = "params.yaml") -> list[Path]:
    """The .txt, .md and .pdf files under ``docs_dir`` (recursively, sorted, hidden files left out);
    ``params_file`` is where the message sends the user to fix the folder."""
    root = Path(docs_dir)
    if not root.is_dir():
        raise DataError(f"{root}: documents folder not found; set rag.docs_dir in {params_file}")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_document(path: Path, root: Path) -> Document:
    """Read one file into cleaned pages; raise DocumentProblem when it has no usable text."""
    name = path.relative_to(root).as_posix()
    data = path.read_bytes()
    if not data.strip():
        raise DocumentProblem(f"{name}: empty file; skipped (add text to it or remove it)", "empty")
    if path.suffix.lower() == ".pdf":
        pages, warnings = _read_pdf(data, name)
    else:
        text, warnings = _decode_text(data, name)
        if path.suffix.lower() == ".md":
            # headings keep their words, lose the marks, and stand as paragraphs of their own
            text = re.sub(r"(?m)^[ \t]{0,3}#{1,6}[ \t]*(.*?)[ \t#]*$", r"\n\1\n", text)
        pages = [Page(None, clean_text(text))]
    if not any(p.text for p in pages):
        raise DocumentProblem(f"{name}: no text once cleaned (only spaces or control characters); skipped", "empty")
    return Document(name, pages, hashlib.sha256(data).hexdigest(), warnings)


def clean_text(text: str) -> str:
    """Unicode-normalise, undo end-of-line hyphenation, join wrapped lines, keep paragraph breaks."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = re.sub(r"\r\n?", "\n", text)
    text = re.sub(r"[^\S\n]+", " ", text)  # tabs, no-break and repeated spaces → one space
    text = re.sub(r"([a-zà-öø-ÿœ])-\n\s*([a-zà-öø-ÿœ])", r"\1\2", text)  # "pâ-\ntisserie" → "pâtisserie"
    # A line that starts with a bullet or a step number starts a paragraph (a list item or a step), and so
    # does a bullet inside a line (PDF tables often put two items on one line).
    text = re.sub(r"(?m)^[ \t]*(?=[•●▪◦‣∙*–-] |(?:étape|etape|step) ?\d|\d{1,2}[.)] +[A-ZÀ-ÖØ-Þ])", "\n",
                  text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=[.;!?]) +(?=• )", "\n\n", text)
    paragraphs = re.split(r"\n\s*\n", text)
    joined = (" ".join(line.strip() for line in p.split("\n") if line.strip()) for p in paragraphs)
    return "\n\n".join(p for p in joined if p)


def _decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    if b"\x00" in data[:65536]:
        raise DocumentProblem(f"{name}: binary data (NUL bytes), not text; skipped (is it really a text file?)",
                              "binary")
    warnings = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Legacy French files are mostly Windows-1252 (which includes œ and ’); Latin-1 accepts any byte.
        encoding = "cp1252"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            encoding, text = "latin-1", data.decode("latin-1")
        warnings.append(f"{name}: not UTF-8; read as {encoding}")
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > 0.05 * len(text):
        raise DocumentProblem(f"{name}: {controls} control characters in {len(text)}: binary data, not text; "
                              "skipped", "binary")
    longest = max(len(line) for line in text.split("\n"))
    if longest > LONG_LINE:
        warnings.append(f"{name}: one line of {longest:,} characters without a line break; split by sentences")
    return text, warnings


def _read_pdf(data: bytes, name: str) -> tuple[list[Page], list[str]]:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypt_without_password(reader):
            raise DocumentProblem(f"{name}: encrypted PDF that needs a password; skipped (save an unprotected copy)",
                                  "encrypted")
        texts = [page.extract_text() or "" for page in reader.pages]
    except DocumentProblem:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise DocumentProblem(f"{name}: not a readable PDF ({type(exc).__name__}: {exc}); skipped (is it damaged?)",
                              "corrupt") from None
    pages = [Page(number, clean_text(_mark_paragraphs(text))) for number, text in enumerate(texts, start=1)]
    empty = [p.number for p in pages if not p.text]
    if len(empty) == len(pages):
        raise DocumentProblem(f"{name}: no text layer in its {len(pages)} page(s) (a scan?); skipped: "
                              "run OCR on it first (e.g. ocrmypdf)", "no_text")
    warnings = [f"{name}: no text on page(s) {', '.join(map(str, empty))}"] if empty else []
    return [p for p in pages if p.text], warnings


def _mark_paragraphs(text: str) -> str:
    """Turn a PDF page's lines into paragraphs: a line much shorter than the page's full lines ends one.

    PDF text has no paragraph marks, only lines; headings, list items and last lines of paragraphs are
    the short ones. Lines holding only a page number (running footers) are dropped.
    """
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if not _PAGE_NUMBER.match(line)]
    full = max((len(" ".join(line.split())) for line in lines), default=0)
    out = []
    for n, line in enumerate(lines):
        # a title line right after a finished sentence is a heading, even when the sentence filled its line
        if n and is_heading(line) and re.search(r"[.!?…:]\s*$", lines[n - 1]):
            out.append("")
        out.append(line)
        if len(" ".join(line.split())) < 0.8 * full:
            out.append("")
    return "\n".join(out)


def _decrypt_without_password(reader) -> bool:
    """Many PDFs are 'encrypted' with an empty user password only to restrict printing: those open."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False
