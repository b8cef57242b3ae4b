"""Comparing the trained language models on the same test text, plus a unigram baseline.

The test text (``test.txt``) is never seen in training nor in choosing the checkpoint (the validation text,
``val.txt``, does that), so the numbers reported here are not flattered by the selection.

Every model is scored by ``sequence_nll`` with windows of its own context moving by half a context, so
each token is predicted from at least half a context of history. Losses per character (total NLL ÷
characters) compare models whatever their tokenizer; bits per character = nats per character ÷ ln 2.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path

import torch

from dllab.text.checkpoint import load_checkpoint
from dllab.text.config import LmEvaluateParams
from dllab.text.corpus import read_text
from dllab.text.generate import generate
from dllab.text.tokenizer import Tokenizer
from dllab.text.train import sequence_nll

EVAL_BATCH = 32


def scored_text(corpus_dir: str | Path, max_chars: int) -> str:
    """The start of ``test.txt``, at most ``max_chars`` characters (0 = all), cut at a line end."""
    text = read_text(Path(corpus_dir) / "test.txt")
    if max_chars and len(text) > max_chars:
        line_end = text.rfind("\n", 0, max_chars)
        text = text[: line_end + 1 if line_end > 0 else max_chars]
    return text


def loss_metrics(nll: float, tokens: int, characters: int) -> dict:
    per_char = nll / characters
    return {"test_bpc": round(per_char / math.log(2), 4), "test_loss_per_char": round(per_char, 4),
            "test_loss_per_token": round(nll / tokens, 4), "test_ppl": round(math.exp(nll / tokens), 2)}


def unigram_nll(train_ids: list[int], test_ids: list[int], vocab_size: int) -> float:
    """NLL of ``test_ids`` under token frequencies of the training text (add-one smoothing)."""
    counts, total = Counter(train_ids), len(train_ids) + vocab_size
    return -sum(math.log((counts[i] + 1) / total) for i in test_ids)


def generation_speed(model, tokenizer: Tokenizer, prompts: list[str],
                     params: LmEvaluateParams) -> tuple[list[str], float]:
    """Each prompt's completion and the tokens per second generation ran at."""
    completions, started = [], time.perf_counter()
    for prompt in prompts:
        completions.append(generate(model, tokenizer, prompt, params.max_new_tokens, params.temperature,
                                    params.top_k, params.seed))
    seconds = time.perf_counter() - started
    return completions, len(prompts) * params.max_new_tokens / seconds


def evaluate_models(model_paths: dict[str, str | Path], tokenizer_path: str | Path, corpus_dir: str | Path,
                    params: LmEvaluateParams, device: torch.device) -> tuple[dict, dict[str, list[str]], dict]:
    """``({name: metrics}, {name: completions of params.prompts}, {name: generation tokens/s})`` for each
    model, and ``unigram`` in the metrics. The speeds vary between runs: they go to the stage record."""
    tokenizer = Tokenizer(tokenizer_path)
    text = scored_text(corpus_dir, params.test_chars)
    ids = tokenizer.encode_long(text)
    characters = len(text) - len(tokenizer.decode(ids[:1]))  # the first token has no history: not scored
    metrics, samples, speeds = {}, {}, {}
    for name, path in model_paths.items():
        model, checkpoint = load_checkpoint(path, device)
        nll, tokens = sequence_nll(model, torch.tensor(ids), model.context, max(model.context // 2, 1),
                                   EVAL_BATCH, device)
        samples[name], generation_tps = generation_speed(model, tokenizer, params.prompts, params)
        speeds[name] = round(generation_tps, 1)
        summary = checkpoint["summary"]
        metrics[name] = {**loss_metrics(nll, tokens, characters), "params": summary["parameters"],
                         "train_steps": summary["steps"], "best_step": summary["best_step"],
                         "selection_val_bpc": round(summary["best_val_bpc"], 4),
                         "stopped_early": summary["stopped_early"] or "no"}
    train_ids = tokenizer.encode_long(read_text(Path(corpus_dir) / "train.txt"))
    unigram = unigram_nll(train_ids, ids[1:], tokenizer.vocab_size)
    metrics["unigram"] = loss_metrics(unigram, len(ids) - 1, characters)
    metrics["test_characters"] = characters
    metrics["tokens_per_char"] = round(len(ids) / len(text), 4)
    return metrics, samples, speeds


def samples_markdown(prompts: list[str], samples: dict[str, list[str]], params: LmEvaluateParams) -> str:
    """The same prompts completed by each model, side by side in one table per prompt."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", "<br>") or " "

    lines = ["# Samples: the same prompts, completed by each model",
             "", f"{params.max_new_tokens} new tokens, temperature {params.temperature}, "
             f"top-k {params.top_k}, seed {params.seed}. The prompt is in bold.", ""]
    names = list(samples)
    for i, prompt in enumerate(prompts):
        lines += [f"## Prompt {i + 1}: {prompt!r}", "",
                  "| " + " | ".join(names) + " |", "|" + "---|" * len(names),
                  "| " + " | ".join(f"**{cell(prompt)}**" + cell(samples[n][i]) if prompt else cell(samples[n][i])
                                    for n in names) + " |", ""]
    return "\n".join(lines)
