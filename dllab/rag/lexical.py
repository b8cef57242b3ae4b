"""BM25 keyword ranking with French-aware normalisation (elisions split, Snowball stemming, accents folded).

The default embedding model is English; on French questions it misses passages that share the exact
words. Fusing its cosine similarity with BM25 (see ``search.py``) recovers them.
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
    if len(word) < 2 or _fold(word) in STOPWORDS:
        return None
    return _fold(_french_stemmer().stemWord(word))  # the stemmer expects the accents


def _fold(word: str) -> str:
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
        self.postings = {}
        for term, (docs, tfs) in postings.items():
            idf = math.log(1 + (self.size - len(docs) + 0.5) / (len(docs) + 0.5))
            tf = np.array(tfs, dtype=np.float32)
            index = np.array(docs, dtype=np.int64)
            self.postings[term] = (index, idf * tf * (k1 + 1) / (tf + norm[index]))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``: shape (n_texts,)."""
        total = np.zeros(self.size, dtype=np.float32)
        for term in set(tokens(query)):
            if term in self.postings:
                index, weight = self.postings[term]
                total[index] += weight
        return total
