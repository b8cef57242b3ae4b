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

from dllab.errors import UserError

DEFAULT_MODELS = {"lstm": "models/lstm/model.pt", "transformer": "models/transformer/model.pt"}
DEFAULT_TOKENIZER = "models/tokenizer"


def check_sampling(temperature: float, top_k: int, max_new_tokens: int) -> None:
    if not temperature > 0:
        raise UserError(f"temperature = {temperature} is not allowed; use a number > 0 (e.g. 0.8)")
    if top_k < 1:
        raise UserError(f"top_k = {top_k} is not allowed; use an integer >= 1 (e.g. 50)")
    if max_new_tokens < 0:
        raise UserError(f"max_new_tokens = {max_new_tokens} is not allowed; use an integer >= 0")


def generate(model, tokenizer, prompt: str, max_new_tokens: int = 100, temperature: float = 0.8,
             top_k: int = 50, seed: int = 0) -> str:
    """The text that ``model`` writes after ``prompt`` (the prompt itself is not repeated)."""
    import torch

    check_sampling(temperature, top_k, max_new_tokens)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    tokens = list(tokenizer.encode(prompt) or tokenizer.newline_ids)
    if not model.recurrent:
        tokens = tokens[-model.context:]
    start, unread, state = len(tokens), list(tokens), None
    model.eval()
    with torch.no_grad():
        for _ in range(max_new_tokens):
            if model.recurrent:  # the LSTM's state holds everything read so far: feed only what is new
                logits, state = model(torch.tensor([unread], device=device), state)
            else:  # the Transformer rereads its last `context` tokens
                logits, _ = model(torch.tensor([tokens[-model.context:]], device=device))
            scores = logits[0, -1].float().cpu() / temperature  # (vocab,)
            top = torch.topk(scores, min(top_k, len(scores)))
            choice = top.indices[torch.multinomial(torch.softmax(top.values, 0), 1, generator=generator)].item()
            tokens.append(choice)
            unread = [choice]
    return tokenizer.decode(tokens[start:])


@lru_cache(maxsize=4)
def _load(model_path: str, tokenizer_path: str):
    from dllab.text.checkpoint import load_checkpoint
    from dllab.text.tokenizer import Tokenizer

    model, _ = load_checkpoint(model_path)
    return model, Tokenizer(tokenizer_path)


def generate_text_bpe(prompt: str, max_new_tokens: int = 100, temperature: float = 0.8, top_k: int = 50,
                      seed: int = 0, model_path: str = DEFAULT_MODELS["lstm"],
                      tokenizer_path: str = DEFAULT_TOKENIZER) -> str:
    """The prompt followed by the LSTM's continuation (BPE tokens)."""
    model, tokenizer = _load(str(model_path), str(tokenizer_path))
    return prompt + generate(model, tokenizer, prompt, max_new_tokens, temperature, top_k, seed)


def generate_text_transformer(prompt: str, max_new_tokens: int = 100, temperature: float = 0.8, top_k: int = 50,
                              seed: int = 0, model_path: str = DEFAULT_MODELS["transformer"],
                              tokenizer_path: str = DEFAULT_TOKENIZER) -> str:
    """The prompt followed by the Transformer's continuation."""
    model, tokenizer = _load(str(model_path), str(tokenizer_path))
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
