"""Both language models continuing one prompt side by side, piece by piece, for the lab's web page.

A request is checked with the same rules as ``python -m dllab.text.generate`` (``check_sampling``), plus
the limits a shared server needs (prompt length, tokens per model). The two generators take turns, one
BPE piece each, in the request's thread, so each column's first piece comes after one step of each model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from dllab.errors import UserError
from dllab.text.generate import check_sampling, stream_pieces

MODELS = ("lstm", "transformer")
MAX_PROMPT_CHARS = 1000
MAX_NEW_TOKENS = 400
MAX_SEED = 2**63 - 1
DEFAULTS = {"prompt": "", "max_new_tokens": 100, "temperature": 0.8, "top_k": 50, "seed": 0, "models": list(MODELS)}


@dataclass
class RaceRequest:
    prompt: str
    max_new_tokens: int
    temperature: float
    top_k: int
    seed: int
    models: list[str]


def parse_race_request(body) -> RaceRequest:
    """A JSON object with any of DEFAULTS' keys → RaceRequest; UserError naming the field otherwise."""
    if not isinstance(body, dict):
        raise UserError(f"send a JSON object such as {{\"prompt\": \"ROMEO:\", \"max_new_tokens\": 60}}; "
                        f"got {type(body).__name__}")
    unknown = sorted(set(body) - set(DEFAULTS))
    if unknown:
        raise UserError(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(DEFAULTS)}")
    values = {**DEFAULTS, **body}
    prompt = values["prompt"]
    if not isinstance(prompt, str):
        raise UserError(f"prompt must be text, got {type(prompt).__name__}")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UserError(f"prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
    temperature = _number("temperature", values["temperature"])
    top_k, length, seed = (_integer(key, values[key]) for key in ("top_k", "max_new_tokens", "seed"))
    check_sampling(temperature, top_k, length)  # the command's own rules and messages
    if length > MAX_NEW_TOKENS:
        raise UserError(f"max_new_tokens = {length} is not allowed here; use at most {MAX_NEW_TOKENS}")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"seed = {seed} is not allowed; use an integer from 0 to {MAX_SEED}")
    models = values["models"]
    if (not isinstance(models, list) or not models or not all(isinstance(name, str) for name in models)
            or not set(models) <= set(MODELS) or len(set(models)) < len(models)):
        raise UserError(f"models must be a non-empty list of distinct names among {', '.join(MODELS)}")
    return RaceRequest(prompt, length, temperature, top_k, seed, models)


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{key} must be a number, got {str(value)[:20]!r}")
    return float(value)


def _integer(key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{key} must be an integer, got {str(value)[:20]!r}")
    return value


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

