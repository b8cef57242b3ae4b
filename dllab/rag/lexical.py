"""BM25 keyword ranking with French-aware normalisation (accents folded, elisions split, light stemming).

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
_WORD = re.compile(r"[a-z0-9]+")
# Endings removed after the plural: enough to match caramélisée / caraméliser / caramélisation.
_SUFFIXES = ("ements", "ement", "ations", "ation", "euses", "euse", "eurs", "eur", "ees", "ee", "es", "er",
             "ez", "e")


def tokens(text: str) -> list[str]:
    """Lower-cased, accent-free, stemmed content words."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    # Decomposing then dropping non-ASCII removes the accents (é → e); words are ASCII runs anyway.
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return [_stem(w) for w in _WORD.findall(text) if w not in STOPWORDS and len(w) > 1]


@functools.lru_cache(maxsize=65536)  # a corpus has few distinct words: stem each once
def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("aux"):
        word = word[:-3] + "al"
    elif len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


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
