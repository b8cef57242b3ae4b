"""Sentence-level ranking inside retrieved passages: which of their sentences answer the question.

A grounded answer quotes the documents' own sentences. Each answer unit (a sentence, or a list with its
introduction) of the retrieved passages is scored by the cosine similarity of its embedding with the
question's, with the index's embedding model. On the question set this alone chose answering sentences
more often than mixing in word overlap (0.83 against 0.71 correct with multilingual E5), because people
rarely use the documents' words. The best unit's score is also the evidence for declining.

``rag_index`` embeds every unit once and stores the vectors beside the Chroma collection
(``sentences.npz``), so answering costs one question embedding and a dot product.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from dllab.rag.chunking import sentences
from dllab.rag.structure import ITEM, QUESTION, STEP, line_role, step_number

log = logging.getLogger("rag.sentences")
VECTORS_FILE = "sentences.npz"

# A line without final punctuation and of few words is a heading ("La recette pas à pas"), not a sentence.
_HEADING_WORDS = 12
_ENDS_SENTENCE = re.compile(r"[.!?…:;»)]\s*$")
# A sentence about the document itself (« Ce document présente… ») describes it; it answers nothing.
_ABOUT_DOCUMENT = re.compile(r"^(ce|cet|cette|le présent|this|the present)\s+(document|texte|guide|livret|fichier|"
                             r"page|chapitre|article|text|file|chapter|article)\b", re.IGNORECASE)
_BULLET = re.compile(r"^[•●▪◦‣∙–-]\s+")
# A paragraph opening with an ordinal (« Le deuxième secret est… », « The third step… ») is an item of a list
# written as prose; the word after the ordinal names what the list enumerates.
_ORDINAL = re.compile(r"^(?:(?:le|la|les|l'|un|une|the|a|an)\s*)?(?:premi[eè]re?|deuxi[eè]me|second(?:e)?|troisi[eè]me|"
                      r"quatri[eè]me|cinqui[eè]me|sixi[eè]me|septi[eè]me|huiti[eè]me|neuvi[eè]me|dixi[eè]me|"
                      r"derni[eè]re?|first|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)\s+(\w+)",
                      re.IGNORECASE)
# A whole sentence starts like one: a capital, a digit, a bullet, a quote or an opening bracket.
_STARTS_SENTENCE = re.compile(r"^[«\"'(\[A-ZÀ-ÖØ-Þ0-9•–-]")


# A sentence of this many words or fewer (« Oui. ») is never a unit alone: it goes with the next one.
SHORT_WORDS = 3


@dataclass(frozen=True)
class Quote:
    text: str
    passage: int     # 1-based rank of the retrieved passage it comes from: the answer cites it as [passage]
    position: int    # its order inside that passage
    score: float     # cosine similarity with the question (see the module docstring)
    role: str = "text"        # step (the first sentence of a step), item, list (items with their introduction),
                              # or text (``dllab.rag.structure``)
    step: int | None = None   # a step's number


@dataclass(frozen=True)
class Unit:
    text: str
    asks: bool               # a question (a FAQ's heading): never quoted
    role: str = "text"
    step: int | None = None
    line_start: bool = True  # the first sentence of its paragraph


def units(passage: str) -> list[Unit]:
    """The passage's answer units, with their role in the document's structure.

    A unit is a whole sentence, or a list with its introduction (« Pour la pâte brisée : • 250 g de farine
    … ») joined into one. Headings and the cut-off words an overlapping chunk starts with are dropped; a
    very short sentence (« Oui. ») is joined to the sentence after it. A question (a FAQ's heading) is
    kept, flagged: it is never quoted. A paragraph opening with an ordinal (« Le deuxième secret est… ») is
    an item: its first sentence is one entry of a list written as prose.
    """
    found: list[list] = []  # [texts, role, step, line_start]
    lines = passage.split("\n")
    for n, line in enumerate(lines):
        line = line.strip()
        item = _BULLET.match(line)
        if item:
            text = line[item.end():].strip()
            if found and found[-1][0][0].endswith(":"):
                found[-1][0].append(text)   # an item of the list the previous line introduced
                found[-1][1] = "list"
            elif text:
                found.append([[text], ITEM, None, True])
            continue
        role, step = line_role(line), step_number(line)
        pending = ""
        kept = 0
        for i, sentence in enumerate(s.strip() for s in sentences(line)):
            if n == 0 and i == 0 and not _STARTS_SENTENCE.match(sentence):
                continue  # the end of the previous chunk's last sentence (chunk overlap)
            if not _ENDS_SENTENCE.search(sentence) and len(sentence.split()) <= _HEADING_WORDS:
                continue  # a heading
            if _ABOUT_DOCUMENT.match(sentence):
                continue
            if len(sentence.split()) <= SHORT_WORDS and not (i == 0 and step is not None):
                pending += sentence + " "  # « Oui. » is said with what follows it
                continue
            first = i == 0 or (kept == 0 and bool(pending))
            found.append([[pending + sentence], STEP if first and step is not None else
                          ITEM if i == 0 and not pending and role != QUESTION and _ORDINAL.match(sentence) else
                          (QUESTION if role == QUESTION else "text"), step if first else None, first])
            pending, kept = "", kept + 1
        if pending and kept:
            found[-1][0][-1] += " " + pending.strip()
        elif pending:  # a short paragraph alone (« Oui. »)
            found.append([[pending.strip()], "text", step, True])
    out = []
    for texts, role, step, first in found:
        text = texts[0] if len(texts) == 1 else texts[0] + " " + " ; ".join(texts[1:]) + "."
        if texts[0].endswith(":") and len(texts) == 1:
            continue  # an introduction whose list is in the next chunk
        if sum(ch.isalpha() for ch in text) >= 3:
            asks = text.rstrip().endswith("?")
            out.append(Unit(text, asks, "text" if role == QUESTION else role, step, first))
    return out


def enumerates(text: str) -> str | None:
    """What an item of a list written as prose enumerates (« Le deuxième secret est… » → « secret »), else None."""
    found = _ORDINAL.match(text)
    return found.group(1) if found else None


def quotable(passage: str) -> list[tuple[str, bool]]:
    """The passage's answer units (see ``units``), each with whether it is a question."""
    return [(unit.text, unit.asks) for unit in units(passage)]


def rank_quotes(retriever, question: str, hits: Sequence) -> list[Quote]:
    """Every answer unit of ``hits`` scored against ``question``, best first (ties: passage order)."""
    found = [(rank, position, unit) for rank, hit in enumerate(hits, start=1)
             for position, unit in enumerate(units(hit.text))]
    if not found:
        return []
    scores = retriever.sentence_cosines(question, [unit.text for _, _, unit in found])  # (n_units,)
    # A question (a FAQ's heading) is never the answer, but it lends its score to the sentence after it, the
    # first of its answer: « Quelle boisson servir… ? » is closer to « qu'est-ce qu'on boit avec… » than
    # « Un cidre brut ou doux… » is.
    lent = [max(float(score), float(scores[i - 1]) if i and found[i - 1][2].asks and found[i - 1][0] == rank else 0.0)
            for i, ((rank, _, _), score) in enumerate(zip(found, scores))]
    quotes = [Quote(unit.text, rank, position, round(score, 4), unit.role, unit.step)
              for (rank, position, unit), score in zip(found, lent) if not unit.asks]
    return sorted(_unique(quotes), key=lambda q: (-q.score, q.passage, q.position))


def units_of(chunk_texts: Sequence[str]) -> list[str]:
    """Every distinct answer unit of the chunks, in order."""
    return list(dict.fromkeys(text for chunk in chunk_texts for text, _ in quotable(chunk)))


def update_vectors(index_dir: str | Path, chunk_texts: Sequence[str], model_loader: Callable, batch_size: int) -> dict:
    """Write ``index_dir/sentences.npz``: every unit of the chunks and its vector, embedding only the units
    the previous file did not have. Returns counts for the index's stats."""
    units, vectors, stats = refresh_vectors(load_vectors(index_dir), chunk_texts, model_loader, batch_size)
    path = Path(index_dir) / VECTORS_FILE
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as out:  # replaced in one step: a crash never leaves half a file
        np.savez(out, units=np.array(units, dtype=object).astype(str), vectors=vectors)
    os.replace(temporary, path)
    return stats


def refresh_vectors(previous: dict[str, np.ndarray], chunk_texts: Sequence[str], model_loader: Callable,
                    batch_size: int) -> tuple[list[str], np.ndarray, dict]:
    """Every unit of the chunks and its vector (shape (units, dimension), float32), reusing ``previous`` and
    embedding only the units it lacks; with counts for the index's stats."""
    from dllab.rag.embeddings import embed

    units = units_of(chunk_texts)
    new = [unit for unit in units if unit not in previous]
    table = dict(previous)
    if new:
        log.info("embedding %d new sentence(s)", len(new))
        table.update(zip(new, embed(model_loader(), new, batch_size, progress=True)))
    dimension = next(iter(table.values())).shape[0] if table else 0
    vectors = np.stack([table[u] for u in units]) if units else np.zeros((0, dimension), np.float32)
    return units, vectors.astype(np.float32), {"sentences": len(units), "sentences_added": len(new)}


def load_vectors(index_dir: str | Path) -> dict[str, np.ndarray]:
    """The unit → vector table of an index ({} when it has none yet)."""
    path = Path(index_dir) / VECTORS_FILE
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as stored:
        return dict(zip(stored["units"].tolist(), stored["vectors"]))


def _unique(quotes: list[Quote]) -> list[Quote]:
    """One copy of each sentence (overlapping chunks repeat their edges): the best-ranked passage's."""
    seen, kept = set(), []
    for quote in sorted(quotes, key=lambda q: (q.passage, q.position)):
        key = " ".join(quote.text.split()).casefold()
        if key not in seen:
            seen.add(key)
            kept.append(quote)
    return kept
