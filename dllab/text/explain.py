"""What the language models do with a prompt, for the lab's page: each model's next-piece distribution and
the Transformer's attention.

The page reshapes the distribution by temperature and top-k itself (``p ∝ exp(logit / T)`` over the ``k``
largest logits), so each candidate comes with its raw logit; ``p`` is the model's own probability (T = 1, the
whole vocabulary). Sorting by logit does not depend on T, so the candidates' order holds for any slider.

The prompt is read as ``dllab.text.generate.sample`` reads it: encoded (an empty prompt is a line break), then
``continuation`` (pieces drawn one at a time by the page) appended as ids, so a drawn byte piece stays a byte;
the Transformer sees the last ``context`` tokens, the LSTM all of them.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from dllab.errors import UserError
from dllab.text.race import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MODELS

CANDIDATES = 100  # pieces sent per model: the page's top-k slider goes up to this
SHOWN = 10        # bars the page draws (the first SHOWN candidates)
DIGITS = 4        # decimals of attention weights and probabilities in the answer


@dataclass
class InspectRequest:
    prompt: str
    continuation: list[int] = field(default_factory=list)  # token ids after the prompt
    models: list[str] = field(default_factory=lambda: list(MODELS))


def prompt_ids(tokenizer, prompt: str, continuation: list[int]) -> list[int]:
    """The ids a model reads: as ``sample`` encodes the prompt, then the continuation's ids."""
    bad = [i for i in continuation if i >= tokenizer.vocab_size]
    if bad:
        raise UserError(f"continuation holds id {bad[0]}, outside the vocabulary (0 to {tokenizer.vocab_size - 1})")
    return list(tokenizer.encode(prompt) or tokenizer.newline_ids) + list(continuation)


def piece(tokenizer, token: int) -> dict:
    """How the page shows one token: its text (what it adds to the prompt) and its SentencePiece name (shown
    instead for a byte piece that is only part of a character)."""
    return {"id": token, "text": tokenizer.decode([token]), "name": tokenizer.sp.id_to_piece(token)}


@contextmanager
def captured_attention(model) -> Iterator[list]:
    """While inside, each forward pass of the Transformer appends each block's attention weights
    (B, heads, T, T) to the yielded list, in block order.

    The blocks compute attention with ``scaled_dot_product_attention``, which does not return its weights;
    a hook reads each attention's input and recomputes softmax(q·kᵀ/√d) with the same causal mask. Only this
    thread's passes are recorded: a server generates with the same model in other threads meanwhile.
    """
    import threading

    import torch

    maps, handles, mine = [], [], threading.get_ident()

    def hook(attention, inputs, output):
        if threading.get_ident() != mine:
            return
        x = inputs[0]  # (B, T, D): the block's normalised input
        b, t, d = x.shape
        heads = attention.heads
        q, k, _ = attention.qkv(x).view(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)  # 3 × (B, H, T, D/H)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // heads)  # (B, H, T, T)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        maps.append(torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1))

    for block in model.blocks:
        handles.append(block.attention.register_forward_hook(hook))
    try:
        yield maps
    finally:
        for handle in handles:
            handle.remove()


def next_piece_logits(model, ids: list[int], attention: bool = False):
    """The logits (vocab,) of the piece after ``ids``, and for the Transformer with ``attention`` its weights
    (layers, heads, T, T) over the tokens it read (the last ``context`` of ``ids``), else None."""
    import torch

    device = next(model.parameters()).device
    if not model.recurrent:
        ids = ids[-model.context:]
    model.eval()
    with torch.no_grad():
        if attention and not model.recurrent:
            with captured_attention(model) as maps:
                logits, _ = model(torch.tensor([ids], device=device))  # (1, T, vocab)
            weights = torch.stack([m[0] for m in maps]).float().cpu()  # (layers, heads, T, T)
        else:
            logits, _ = model(torch.tensor([ids], device=device))
            weights = None
    return logits[0, -1].float().cpu(), weights  # (vocab,)


def distribution(tokenizer, logits) -> list[dict]:
    """The CANDIDATES most likely pieces, most likely first: {id, text, name, logit, p} with ``p`` the
    softmax over the whole vocabulary (temperature 1)."""
    import torch

    probabilities = torch.softmax(logits, 0)  # (vocab,)
    top = torch.topk(logits, min(CANDIDATES, len(logits)))
    return [{**piece(tokenizer, token), "logit": round(float(logit), DIGITS),
             "p": float(f"{float(probabilities[token]):.{DIGITS}g}")}
            for logit, token in zip(top.values.tolist(), top.indices.tolist())]


def inspect(models: dict, asked: InspectRequest, metrics: dict | None = None) -> dict:
    """The answer of ``POST /lm/inspect``. ``models``: name → (model, tokenizer) for the names asked that are
    loaded; ``metrics``: name → the pipeline's test metrics of that model (or None when not evaluated).

    ``{"prompt", "continuation", "models": {name: {"tokens": [pieces read], "parameters", "test_bpc",
    "candidates": [...]}}, "attention": {"tokens", "layers", "heads", "weights": [layer][head][query][key]}}``
    (``attention`` only when the Transformer was asked)."""
    from dllab.text.checkpoint import parameter_count

    answer = {"prompt": asked.prompt, "continuation": asked.continuation, "shown": SHOWN, "models": {}}
    for name, (model, tokenizer) in models.items():
        ids = prompt_ids(tokenizer, asked.prompt, asked.continuation)
        read = ids if model.recurrent else ids[-model.context:]
        logits, weights = next_piece_logits(model, ids, attention=True)
        scores = (metrics or {}).get(name) or {}
        answer["models"][name] = {
            "tokens": [piece(tokenizer, token) for token in read],
            "cropped": len(ids) - len(read),  # tokens of the prompt the Transformer no longer sees
            "parameters": parameter_count(model),
            "test_bpc": scores.get("test_bpc"),
            "candidates": distribution(tokenizer, logits),
        }
        if weights is not None:
            layers, heads = weights.shape[:2]
            answer["attention"] = {"model": name, "tokens": answer["models"][name]["tokens"], "layers": layers,
                                   "heads": heads, "weights": weights.numpy().round(DIGITS).tolist()}
    return answer
