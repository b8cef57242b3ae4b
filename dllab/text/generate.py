"""Text generation from either language model, as functions and as a command.

    python -m dllab.text.generate --model transformer --prompt "ROMEO:" --max-new-tokens 100

Sampling: logits / temperature, keep the ``top_k`` most likely tokens, draw with a seeded generator, so
the same seed gives the same text. An empty prompt starts after a line break; a prompt longer than the
Transformer's context is cropped to its last ``context`` tokens; unseen words and any Unicode work because
the tokenizer falls back to bytes.
"""
from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from dllab.errors import UserError

DEFAULT_MODELS = {"lstm": "models/lstm/model.pt", "transformer": "models/transformer/model.pt"}
DEFAULT_TOKENIZER = "models/tokenizer"
# Logits are divided by the temperature in float32: 1e-45 makes them inf, then NaN probabilities; below 0.01
# sampling is already greedy, above 100 already uniform.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0


def check_sampling(temperature: float, top_k: int, max_new_tokens: int) -> None:
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:  # NaN too
        raise UserError(f"temperature = {temperature} is not allowed; use a number from {MIN_TEMPERATURE} to "
                        f"{MAX_TEMPERATURE:g} (e.g. 0.8)")
    if top_k < 1:
        raise UserError(f"top_k = {top_k} is not allowed; use an integer >= 1 (e.g. 50)")
    if max_new_tokens < 0:
        raise UserError(f"max_new_tokens = {max_new_tokens} is not allowed; use an integer >= 0")


def sample(model, tokenizer, prompt: str, max_new_tokens: int = 100, temperature: float = 0.8,
           top_k: int = 50, seed: int = 0) -> Iterator[tuple[int, float]]:
    """Each token ``model`` writes after ``prompt``, as it is drawn, with its probability under the
    distribution it was drawn from (after temperature and top-k)."""
    import torch

    check_sampling(temperature, top_k, max_new_tokens)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    tokens = list(tokenizer.encode(prompt) or tokenizer.newline_ids)
    if not model.recurrent:
        tokens = tokens[-model.context:]
    unread, state = list(tokens), None
    model.eval()
    for _ in range(max_new_tokens):
        # no_grad around each step, not around the yield: a context left open across a yield changes the
        # caller's thread, and two interleaved generators (the race) restore each other's mode, leaving
        # autograd off in a server thread for good (integrated gradients then failed there).
        with torch.no_grad():
            if model.recurrent:  # the LSTM's state holds everything read so far: feed only what is new
                logits, state = model(torch.tensor([unread], device=device), state)
            else:  # the Transformer rereads its last `context` tokens
                logits, _ = model(torch.tensor([tokens[-model.context:]], device=device))
            scores = logits[0, -1].float().cpu() / temperature  # (vocab,)
            top = torch.topk(scores, min(top_k, len(scores)))
            probabilities = torch.softmax(top.values, 0)  # (top_k,)
            drawn = torch.multinomial(probabilities, 1, generator=generator).item()
            choice = top.indices[drawn].item()
        tokens.append(choice)
        unread = [choice]
        yield choice, probabilities[drawn].item()


def generate(model, tokenizer, prompt: str, max_new_tokens: int = 100, temperature: float = 0.8,
             top_k: int = 50, seed: int = 0) -> str:
    """The text that ``model`` writes after ``prompt`` (the prompt itself is not repeated)."""
    return tokenizer.decode([token for token, _ in sample(model, tokenizer, prompt, max_new_tokens,
                                                          temperature, top_k, seed)])


def stream_pieces(model, tokenizer, prompt: str, max_new_tokens: int = 100, temperature: float = 0.8,
                  top_k: int = 50, seed: int = 0) -> Iterator[dict]:
    """``generate``'s text as it is written: one ``{"text", "p", "tokens"}`` per BPE piece, ``p`` its
    probability (4 significant digits). Byte-fallback tokens that only make a character together (an
    emoji's four bytes) come as one piece with the product of their probabilities. The pieces join
    into ``generate``'s text."""
    tokens, written, p, count = [], "", 1.0, 0
    for token, probability in sample(model, tokenizer, prompt, max_new_tokens, temperature, top_k, seed):
        tokens.append(token)
        p, count = p * probability, count + 1
        text = tokenizer.decode(tokens)
        if text.endswith("\ufffd"):
            continue  # an incomplete UTF-8 character: wait for its other bytes
        yield {"text": text[len(written):], "p": float(f"{p:.4g}"), "tokens": count}
        written, p, count = text, 1.0, 0
    if count:  # bytes that never completed a character
        yield {"text": tokenizer.decode(tokens)[len(written):], "p": float(f"{p:.4g}"), "tokens": count}


@lru_cache(maxsize=4)
def load_model(model_path: str, tokenizer_path: str):
    from dllab.text.checkpoint import load_checkpoint
    from dllab.text.tokenizer import Tokenizer

    model, _ = load_checkpoint(model_path)
    return model, Tokenizer(tokenizer_path)


def generate_text_bpe(prompt: str, max_new_tokens: int = 100, temperature: float = 0.8, top_k: int = 50,
                      seed: int = 0, model_path: str = DEFAULT_MODELS["lstm"],
                      tokenizer_path: str = DEFAULT_TOKENIZER) -> str:
    """The prompt followed by the LSTM's continuation (BPE tokens)."""
    model, tokenizer = load_model(str(model_path), str(tokenizer_path))
    return prompt + generate(model, tokenizer, prompt, max_new_tokens, temperature, top_k, seed)


def generate_text_transformer(prompt: str, max_new_tokens: int = 100, temperature: float = 0.8, top_k: int = 50,
                              seed: int = 0, model_path: str = DEFAULT_MODELS["transformer"],
                              tokenizer_path: str = DEFAULT_TOKENIZER) -> str:
    """The prompt followed by the Transformer's continuation."""
    model, tokenizer = load_model(str(model_path), str(tokenizer_path))
    return prompt + generate(model, tokenizer, prompt, max_new_tokens, temperature, top_k, seed)


GENERATORS = {"lstm": generate_text_bpe, "transformer": generate_text_transformer}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dllab.text.generate",
                                     description="Generate text from a trained language model.")
    parser.add_argument("--model", required=True, help="lstm or transformer")
    parser.add_argument("--prompt", default="", help="text to continue (may be empty)")
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", help="model file (default: models/<model>/model.pt)")
    parser.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    args = parser.parse_args()
    if args.model not in GENERATORS:  # checked before torch is imported: a typo fails at once
        raise UserError(f"unknown model {args.model!r}; choose one of: {', '.join(GENERATORS)}")
    check_sampling(args.temperature, args.top_k, args.max_new_tokens)
    checkpoint = Path(args.checkpoint or DEFAULT_MODELS[args.model])
    text = GENERATORS[args.model](args.prompt, args.max_new_tokens, args.temperature, args.top_k, args.seed,
                                  model_path=str(checkpoint), tokenizer_path=args.tokenizer)
    print(text)


if __name__ == "__main__":
    from dllab.cli import run

    run(main)
