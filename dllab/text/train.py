"""The training loop both language models share.

Random windows of ``context + 1`` tokens from the training text, next-token cross-entropy, AdamW with a
linear warm-up then cosine decay to a tenth of the peak rate, gradient clipping, a validation pass every
``eval_interval`` steps on a fixed slice of the validation text, and the best weights kept. Stops after
``max_steps``: the budget is counted in steps, so the same params give the same model on any machine. A
wall-clock cap (``max_seconds``, 0 = none, the default) exists for users who want one; when it cuts a run
short the summary says so (``stopped_early: "time cap"``).

Under torchrun (dllab/distributed.py) the same loop runs in every process: ``batch_size`` is the global
batch, every process draws the same windows and trains on its ``batch_size / N`` of them, DDP averages the
gradients, the training loss is averaged over the processes, and rank 0 alone validates and saves.

What the checkpoint and the history hold is a function of the data and params only; the times measured
along the way are returned apart (``Timing``) for the stage's record.
"""
from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from dllab.distributed import SINGLE, Group, any_process, reduce, shard, wrap
from dllab.history import write_history
from dllab.runtime import seed_everything
from dllab.text.checkpoint import MODEL_KINDS, parameter_count, save_checkpoint
from dllab.text.config import LstmParams, TrainingParams, TransformerParams
from dllab.text.corpus import read_text
from dllab.text.tokenizer import Tokenizer

log = logging.getLogger("text.train")
HISTORY_FIELDS = ["step", "tokens", "lr", "train_loss", "val_loss", "val_loss_per_char", "val_bpc"]
FINAL_LR_FRACTION = 0.1


def load_tokens(corpus_dir: str | Path, tokenizer: Tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """The training and validation texts as 1-D tensors of token ids (the test text is never read here)."""
    corpus_dir = Path(corpus_dir)
    return tuple(torch.tensor(tokenizer.encode_long(read_text(corpus_dir / name)), dtype=torch.long)
                 for name in ("train.txt", "val.txt"))


def check_fits(params: TrainingParams, train_ids: torch.Tensor, val_ids: torch.Tensor, vocab: int, width: int,
               layers: int) -> None:
    """Stop before training when the context is longer than the texts or a batch would not fit in memory."""
    import psutil

    context, batch = params.context, params.batch_size
    for name, ids in (("training", train_ids), ("validation", val_ids)):
        if len(ids) < context + 1:
            raise params.invalid("context", f"is longer than the {name} text ({len(ids)} tokens); lower it or use "
                                            "a bigger corpus")
    # fp32 activations kept for the backward pass: logits and their gradient, plus ~16 tensors per layer.
    needed = 4 * batch * context * (3 * vocab + 16 * width * layers)
    available = psutil.virtual_memory().available
    if needed > 0.8 * available:
        raise params.invalid("batch_size", f"with {params.section}.context = {context} needs about "
                                           f"{needed / 2**30:.1f} GiB but {available / 2**30:.1f} GiB is free; "
                                           "lower them")


def random_windows(ids: torch.Tensor, batch_size: int, context: int, generator: torch.Generator):
    """Inputs and next-token targets, both (B, T), from random places in ``ids``."""
    starts = torch.randint(len(ids) - context, (batch_size,), generator=generator)
    windows = ids[starts[:, None] + torch.arange(context + 1)]  # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def sequence_nll(model: nn.Module, ids: torch.Tensor, context: int, stride: int, batch_size: int,
                 device: torch.device) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of ``ids[1:]`` and the number of tokens scored.

    Windows of ``context`` inputs start every ``stride`` tokens; each token is scored once, in the first
    window that reaches it, so with ``stride < context`` every token after the first window has at least
    ``context - stride`` tokens of history. The same procedure scores both models.
    """
    model.eval()
    last = len(ids) - 1 - context  # the last start with a full window; the tail ends exactly at len(ids)
    starts = list(range(0, max(last, 0) + 1, stride))
    if starts[-1] != max(last, 0):
        starts.append(max(last, 0))
    total, scored_until = 0.0, 1  # ids[0] has no history: never scored
    for first in range(0, len(starts), batch_size):
        chunk = starts[first : first + batch_size]
        windows = torch.stack([ids[s : s + context + 1] for s in chunk]).to(device)  # (B, T + 1)
        logits, _ = model(windows[:, :-1])
        nll = F.cross_entropy(logits.transpose(1, 2), windows[:, 1:], reduction="none")  # (B, T)
        for row, s in enumerate(chunk):
            fresh = max(scored_until - (s + 1), 0)  # targets of this window already scored
            total += nll[row, fresh:].sum().item()
            scored_until = max(scored_until, s + 1 + nll.shape[1])
    model.train()
    return total, scored_until - 1


def lr_at(step: int, params: TrainingParams) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``FINAL_LR_FRACTION * lr`` at ``max_steps``."""
    peak, warmup, total = params.lr, params.warmup_steps, params.max_steps
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return peak * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: nn.Module, params: TrainingParams) -> torch.optim.AdamW:
    # Weight decay on matrices only: decaying norms' gains and biases only hurts.
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": params.weight_decay}, {"params": vectors, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=params.lr, betas=(0.9, 0.99))


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor, targets: torch.Tensor,
               grad_clip: float) -> float:
    """One update on a batch of (B, T) inputs and targets; returns the batch's mean loss."""
    logits, _ = model(inputs)  # (B, T, vocab)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss.item()


class Validator:
    """Loss on a fixed slice of the validation text, per token and per character."""

    def __init__(self, val_ids: torch.Tensor, tokenizer: Tokenizer, params: TrainingParams, device: torch.device):
        tokens = min(len(val_ids), params.eval_batches * params.batch_size * params.context + 1)
        self.ids, self.context, self.batch_size = val_ids[:tokens], params.context, params.batch_size
        self.device = device
        self.characters = len(tokenizer.decode(self.ids[1:].tolist()))

    def __call__(self, model: nn.Module) -> dict:
        nll, count = sequence_nll(model, self.ids, self.context, self.context, self.batch_size, self.device)
        per_char = nll / self.characters
        return {"val_loss": nll / count, "val_loss_per_char": per_char, "val_bpc": per_char / math.log(2)}


@dataclass
class Timing:
    """Wall-clock measures of one training run: they vary between identical runs, so they are kept apart."""

    eval_seconds: list[float] = field(default_factory=list)  # elapsed time at each history row
    step_seconds: float = 0.0  # time spent in training steps alone (for throughput)


def fit(model: nn.Module, train_ids: torch.Tensor, validate: Validator | None, params: TrainingParams,
        device: torch.device, generator: torch.Generator, label: str,
        group: Group = SINGLE) -> tuple[list[dict], dict | None, str | None, Timing]:
    """Train; return the history rows, the best row (lowest validation loss) with its ``state_dict``, why
    training stopped before ``max_steps`` (None when it did not) and the timing. Under torchrun only rank 0
    validates (``validate`` is None elsewhere): the other ranks return no history and no best row."""
    trainer = wrap(model, group, device)
    optimizer = make_optimizer(model, params)
    history, best, train_losses, timing, stopped_early = [], None, [], Timing(), None
    started = time.perf_counter()
    progress = tqdm(range(params.max_steps + 1), desc=f"{label} training", mininterval=2, disable=not group.main)
    for step in progress:
        elapsed = time.perf_counter() - started
        if params.max_seconds and step < params.max_steps and any_process(
                elapsed > params.max_seconds, group, device):  # every rank stops at the same step
            stopped_early = "time cap"
        if step % params.eval_interval == 0 or step == params.max_steps or stopped_early:
            train_loss = sum(train_losses) / len(train_losses) if train_losses else float("nan")
            train_loss = reduce([train_loss], group, device, mean=True)[0]  # each rank saw its share
            train_losses = []
            timing.eval_seconds.append(elapsed)
            if group.main:
                row = {"step": step, "tokens": step * params.batch_size * params.context,
                       "lr": lr_at(step, params), "train_loss": train_loss, **validate(model)}
                history.append(row)
                progress.set_postfix(val_loss=f"{row['val_loss']:.3f}", bpc=f"{row['val_bpc']:.3f}")
                if best is None or row["val_loss"] < best["val_loss"]:
                    best = {**row, "state_dict": copy.deepcopy(model.state_dict())}
        if step == params.max_steps:
            break
        if stopped_early:
            if group.main:
                log.warning("%s: stopped at step %d of %d after %.0f s (max_seconds = %g: time cap)", label,
                            step, params.max_steps, elapsed, params.max_seconds)
            break
        tick = time.perf_counter()
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_at(step, params)
        inputs, targets = random_windows(train_ids, params.batch_size, params.context, generator)  # (B, T)
        inputs, targets = shard(inputs, group), shard(targets, group)  # (B / N, T): this process's windows
        train_losses.append(train_step(trainer, optimizer, inputs.to(device), targets.to(device), params.grad_clip))
        timing.step_seconds += time.perf_counter() - tick
    return history, best, stopped_early, timing


def train(params: LstmParams | TransformerParams, corpus_dir: str | Path, tokenizer_path: str | Path,
          model_path: str | Path, history_path: str | Path, device: torch.device,
          group: Group = SINGLE) -> tuple[dict | None, dict | None]:
    """Train one model (its section names the kind: lstm or transformer) from its checked params; save the best
    weights and the history; return the training summary (also in the checkpoint) and the timing (under
    torchrun: on rank 0; the other ranks return None, None)."""
    kind, shape = params.section, params.model_kwargs()
    generator = seed_everything(params.seed, group.rank)
    tokenizer = Tokenizer(tokenizer_path)
    train_ids, val_ids = load_tokens(corpus_dir, tokenizer)
    width = params.dim if isinstance(params, TransformerParams) else params.hidden
    check_fits(params, train_ids, val_ids, tokenizer.vocab_size, width, params.layers)
    model = MODEL_KINDS[kind](vocab_size=tokenizer.vocab_size, context=params.context,
                              dropout=params.dropout, **shape).to(device)
    log.info("training %s %s (%d parameters) on %d tokens, device %s", kind, shape,
             parameter_count(model), len(train_ids), device)
    started = time.perf_counter()
    validate = Validator(val_ids, tokenizer, params, device) if group.main else None
    history, best, stopped_early, timing = fit(model, train_ids, validate, params, device, generator, kind, group)
    train_seconds = time.perf_counter() - started
    if not group.main:
        return None, None
    model.load_state_dict(best.pop("state_dict"))
    steps = history[-1]["step"]
    summary = {  # what the model is; nothing here varies between identical runs
        "steps": steps,
        "max_steps": params.max_steps,
        "stopped_early": stopped_early,
        "best_step": best["step"],
        "best_val_loss": best["val_loss"],
        "best_val_bpc": best["val_bpc"],
        "parameters": parameter_count(model),
    }
    save_checkpoint(model, kind, model_path, extra={"summary": summary})
    write_history(history_path, history, HISTORY_FIELDS)
    return summary, {
        "train_seconds": round(train_seconds, 2),
        "seconds_per_step": round(timing.step_seconds / max(steps, 1), 4),
        "train_tokens_per_second": round(steps * params.batch_size * params.context
                                         / max(timing.step_seconds, 1e-9)),
        "eval_steps": [row["step"] for row in history],
        "eval_seconds": [round(t, 2) for t in timing.eval_seconds],
        "processes": group.world,
        "threads": torch.get_num_threads(),  # per process (dllab/runtime.py: cpu_threads)
    }
