"""A search shown from the inside: each passage with its dense, lexical and fused scores and the sentence
that answers the question best (the same sentence ranking the chatbot quotes from)."""
from __future__ import annotations

from dllab.rag.sentences import rank_quotes

MAX_QUERY_CHARS = 500  # a search's question, at most (checked by web/schemas.py)
MAX_K = 20


def explained_search(retriever, question: str, k: int) -> list[dict]:
    """The ``k`` best passages, best first, each with its scores and best sentence (None if it has none).

    ``sentence`` gives the best sentence's text and score, and ``start``/``end``: where it is in ``text``
    (None when the sentence is a list joined from several lines and so not verbatim in the passage).
    """
    hits = retriever.search(question, k)
    best: dict[int, object] = {}
    for quote in rank_quotes(retriever, question, hits):  # best first: keep each passage's first
        best.setdefault(quote.passage, quote)
    results = []
    for rank, hit in enumerate(hits, start=1):
        quote = best.get(rank)
        sentence = None
        if quote is not None:
            start = hit.text.find(quote.text)
            sentence = {"text": quote.text, "score": quote.score,
                        "start": start if start >= 0 else None, "end": start + len(quote.text) if start >= 0 else None}
        results.append({"rank": rank, "file": hit.file, "page": hit.page, "text": hit.text,
                        "scores": {"dense": hit.dense, "lexical": hit.lexical, "fused": hit.score},
                        "sentence": sentence})
    return results
