"""BM25 keyword ranking with French-aware normalisation (elisions split, Snowball stemming, accents folded).

A sentence embedding can miss a passage that shares the question's exact, rare words (a variety's name, a
temperature); fusing its cosine similarity with BM25 (see ``search.py``) recovers them.
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter

import numpy as np

# Frequent French words that carry no topic (accents already folded).
STOPWORDS = frozenset("""
a au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur leurs lui ma mais
me meme mes moi mon ne ni nos notre nous on ou par pas pour qu que quoi qui sa se ses son sur ta te tes toi ton
tu un une vos votre vous c d j l m n s t y est sont etait etre avoir ont ai as sans plus tres bien tout tous
toute toutes quel quelle quels quelles comment pourquoi quand combien faut peut doit cela ca celle celui ceux
donc alors aussi comme si
""".split())
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, accents included


def tokens(text: str) -> list[str]:
    """Lower-cased content words, stemmed by Snowball's French stemmer, then without accents."""
    words = _WORD.findall(text.lower().replace("œ", "oe").replace("æ", "ae"))
    return [term for term in map(_term, words) if term]


@functools.lru_cache(maxsize=65536)  # a corpus has few distinct words: look at each once
def _term(word: str) -> str | None:
    """The index term of a word; None for stop words and single letters (l', d', qu' once split)."""
    if len(word) < 2 or fold_accents(word) in STOPWORDS:
        return None
    return fold_accents(_french_stemmer().stemWord(word))  # the stemmer expects the accents


def fold_accents(word: str) -> str:
    # Decomposing then dropping non-ASCII removes the accents (é → e), so "eleve" still meets "élevé".
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode("ascii") or word


@functools.lru_cache(maxsize=1)
def _french_stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("french")


class BM25:
    """Okapi BM25 over a fixed list of texts, with postings as numpy arrays for fast scoring."""

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75):
        self.size = len(texts)
        counts = [Counter(tokens(t)) for t in texts]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float32)
        average = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths / average)  # (n_docs,)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for doc, counter in enumerate(counts):
            for term, tf in counter.items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(doc)
                tfs.append(tf)
        # Each term: the documents holding it and their BM25 weight (idf * saturated term frequency).
        self.postings, self.idf = {}, {}
        for term, (docs, tfs) in postings.items():
            self.idf[term] = self._idf(len(docs))
            tf = np.array(tfs, dtype=np.float32)
            index = np.array(docs, dtype=np.int64)
            self.postings[term] = (index, self.idf[term] * tf * (k1 + 1) / (tf + norm[index]))
        self._vocabulary = sorted(self.postings)
        self._spelled: dict[str, str] = {}

    def _idf(self, document_frequency: int) -> float:
        return math.log(1 + (self.size - document_frequency + 0.5) / (document_frequency + 0.5))

    def term_weights(self, query: str) -> dict[str, float]:
        """The query's index terms with their idf; a term the texts never use keeps the highest idf.

        A misspelt word ("temperture") is read as the closest index term when one is close enough.
        """
        return {term: self.idf.get(term, self._idf(0)) for term in map(self.spelled, tokens(query))}

    def spelled(self, term: str) -> str:
        """``term`` itself if the index has it, else the closest index term (difflib ratio ≥ 0.8), else itself."""
        if term in self.postings or len(term) < 4:
            return term
        if term not in self._spelled:
            import difflib

            close = difflib.get_close_matches(term, self._vocabulary, n=1, cutoff=0.8)
            self._spelled[term] = close[0] if close else term
        return self._spelled[term]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``: shape (n_texts,)."""
        total = np.zeros(self.size, dtype=np.float32)
        for term in self.term_weights(query):
            if term in self.postings:
                index, weight = self.postings[term]
                total[index] += weight
        return total
