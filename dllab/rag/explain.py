"""A search shown from the inside: each passage with its dense, lexical and fused scores and the sentence
that answers the question best (the same sentence ranking the chatbot quotes from)."""
from __future__ import annotations

from dllab.errors import UserError
from dllab.rag.sentences import rank_quotes

MAX_QUERY_CHARS = 500
MAX_K = 20


def parse_search_args(args) -> tuple[str, int]:
    """``q`` and ``k`` of a query string (a mapping of str → str) → (question, k); UserError otherwise."""
    unknown = sorted(set(args) - {"q", "k"})
    if unknown:
        raise UserError(f"unknown parameter(s) {', '.join(map(repr, unknown))}; use q (the question) and k")
    question = args.get("q", "")
    if not question.strip():
        raise UserError("q is empty; give the question to search for, e.g. /search?q=tarte+Tatin&k=4")
    if len(question) > MAX_QUERY_CHARS:
        raise UserError(f"q has {len(question)} characters; the limit is {MAX_QUERY_CHARS}")
    raw_k = args.get("k", "4")
    # Length first: int() refuses strings of more than 4,300 digits with a ValueError of its own.
    if not (raw_k.isascii() and raw_k.isdigit() and len(raw_k) <= 3) or not 1 <= int(raw_k) <= MAX_K:
        raise UserError(f"k = {raw_k[:20]!r} is not allowed; use an integer from 1 to {MAX_K}")
    return question, int(raw_k)


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
