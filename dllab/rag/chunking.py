"""Cutting cleaned pages into overlapping chunks of whole sentences, never across pages.

Chunks are at most ``chunk_size`` characters. Each new chunk starts with the last sentences (or, when
a sentence is too long, the last words) of the previous one, up to ``chunk_overlap`` characters, so an
answer that straddles a cut is still whole in one chunk. A new paragraph starts a new chunk once the
current one is half full, and a chunk never spans two sections (``dllab.rag.structure``): each chunk knows
the heading it is under, its section's number in the file and whether it holds steps, list items or a FAQ.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from dllab.rag.documents import Document
from dllab.rag.structure import HEADING, INTRO, ITEM, QUESTION, STEP, by_section, page_blocks

# A sentence ends with . ! ? or … followed by a space and something that can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"'(\[A-ZÀ-ÖØ-Þ0-9•–-])")


@dataclass(frozen=True)
class Chunk:
    text: str
    file: str
    page: int | None
    position: int  # order of the chunk in its file, from 0
    chunk_id: str  # stable: from the file name, page and text (not the position)
    section: str = ""      # the heading (or FAQ question) it is under; "" before the first heading
    section_id: int = -1   # that section's order in the file, from 0
    role: str = "text"     # steps, list, faq or text: the structure its paragraphs have


def chunk_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """All chunks of a document, in order, each with its file, page and a stable id."""
    if chunk_overlap >= chunk_size:  # RagParams refuses this with the user's message; here a caller's mistake
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
    chunks, seen = [], {}
    for page, found in zip(doc.pages, page_blocks([page.text for page in doc.pages])):
        for section in by_section(found):
            body = "\n\n".join(block.text for block in section)
            role = _section_role({block.role for block in section})
            # a run of headings names the section with all of them (« Les variantes — La tarte Tatin »)
            name = " — ".join(b.text for b in section if b.role == HEADING) or section[0].section
            for text in split_text(body, chunk_size, chunk_overlap):
                key = (page.number, text)
                seen[key] = seen.get(key, -1) + 1  # identical chunks in one file get distinct ids
                chunks.append(Chunk(text, doc.file, page.number, len(chunks),
                                    chunk_id(doc.file, page.number, text, seen[key]),
                                    name, section[0].section_id, role))
    return chunks


def _section_role(roles: set[str]) -> str:
    if STEP in roles:
        return "steps"
    if ITEM in roles or INTRO in roles:
        return "list"
    return "faq" if QUESTION in roles else "text"


def chunk_id(file: str, page: int | None, text: str, repeat: int = 0) -> str:
    # Content-based: editing one paragraph changes only the ids of the chunks that contain it.
    return hashlib.sha1(f"{file}\0{page}\0{repeat}\0{text}".encode()).hexdigest()[:24]


def split_text(text: str, chunk_size: int, chunk_overlap: int) -> list[str]:
    """Pack the sentences of ``text`` (paragraphs separated by blank lines) into overlapping chunks.

    Inside a chunk, sentences of one paragraph are joined by a space and paragraphs by a line break, so
    headings and list items stay recognisable lines (grounded answers quote sentences, never headings).
    """
    chunks: list[str] = []
    current: list[str] = []  # sentences (or pieces of long ones) of the chunk being filled, "\n" = new paragraph
    for paragraph in text.split("\n\n"):
        for i, piece in enumerate(_pieces(paragraph, chunk_size)):
            length = len(_join(current))
            full = length + 1 + len(piece) > chunk_size
            section_break = i == 0 and length >= chunk_size // 2
            if current and (full or section_break):
                chunks.append(_join(current))
                current = _tail(current, chunk_overlap, chunk_size - len(piece) - 1)
            current.append(("\n" if i == 0 and current else "") + piece)
    if current:
        chunks.append(_join(current))
    return [c for c in (c.strip() for c in chunks) if c]


def sentences(text: str) -> list[str]:
    """The sentences of a text, line by line (a chunk's paragraphs, headings and list items are lines)."""
    return [s.strip() for line in text.split("\n") for s in _SENTENCE_END.split(line.strip()) if s.strip()]


def _join(pieces: list[str]) -> str:
    return " ".join(pieces).replace(" \n", "\n")


def _pieces(paragraph: str, chunk_size: int) -> list[str]:
    """Sentences of a paragraph; one longer than a chunk is cut at spaces (or anywhere, if it has none)."""
    pieces = []
    for sentence in _SENTENCE_END.split(paragraph.strip()):
        while len(sentence) > chunk_size:
            cut = sentence.rfind(" ", 0, chunk_size + 1)
            cut = cut if cut > 0 else chunk_size
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def _tail(pieces: list[str], overlap: int, room: int) -> list[str]:
    """The end of a finished chunk to repeat at the start of the next: whole sentences when they fit."""
    limit = min(overlap, room)
    if limit <= 0:
        return []
    tail: list[str] = []
    for sentence in reversed(pieces):
        if len(_join([sentence, *tail])) > limit:
            break
        tail.insert(0, sentence)
    if tail:
        return [tail[0].lstrip("\n"), *tail[1:]]
    last = pieces[-1][-limit:]  # the last sentence alone is too long: repeat its last words
    space = last.find(" ")
    return [last[space + 1:]] if 0 <= space < len(last) - 1 else []
