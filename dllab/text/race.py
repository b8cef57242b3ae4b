"""Both language models continuing one prompt side by side, piece by piece, for the lab's web page.

A request is checked (``web/schemas.py``) with the same rules as ``python -m dllab.text.generate``
(``check_sampling``), plus the limits a shared server needs (prompt length, tokens per model, below). The two generators take turns, one
BPE piece each, in the request's thread, so each column's first piece comes after one step of each model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from dllab.text.generate import stream_pieces

MODELS = ("lstm", "transformer")
MAX_PROMPT_CHARS = 1000
MAX_NEW_TOKENS = 400
MAX_SEED = 2**63 - 1


@dataclass
class RaceRequest:
    prompt: str
    max_new_tokens: int
    temperature: float
    top_k: int
    seed: int
    models: list[str]


def race(models: dict, asked: RaceRequest) -> Iterator[tuple[str, dict]]:
    """Events ``(name, data)``: ``piece`` {model, text, p, tokens} from each model in turn, ``done`` {model,
    pieces, seconds} when one ends, then ``end``. ``models``: name → (model, tokenizer)."""
    started = time.perf_counter()
    streams = {name: stream_pieces(model, tokenizer, asked.prompt, asked.max_new_tokens, asked.temperature,
                                   asked.top_k, asked.seed) for name, (model, tokenizer) in models.items()}
    counts = dict.fromkeys(streams, 0)
    while streams:
        for name in list(streams):
            piece = next(streams[name], None)
            if piece is None:
                del streams[name]
                yield "done", {"model": name, "pieces": counts[name],
                               "seconds": round(time.perf_counter() - started, 3)}
            else:
                counts[name] += 1
                yield "piece", {"model": name, **piece}
    yield "end", {}

