"""Training the MLP: AdamW on CrossEntropyLoss, a validation split for curves, best epoch kept.

Under torchrun (dllab/distributed.py) every process reads the same shuffled global batches (``batch_size``)
and shifts them with the same generator, then trains on its slice; DDP averages the gradients and rank 0
alone validates and saves.
"""
from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from dllab.distributed import SINGLE, Group, reduce, shard, wrap
from dllab.history import write_history
from dllab.mnist.config import MnistParams
from dllab.mnist.data import load_split, make_loader, normalise, split_validation
from dllab.mnist.model import MLP, parameter_count, save_checkpoint
from dllab.runtime import seed_everything

log = logging.getLogger("mnist.train")
HISTORY_FIELDS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"]


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image by up to ``max_shift`` pixels in x and y (a cheap, label-preserving augmentation)."""
    # images: (B, 28, 28), normalised; the padding takes the background value of the border.
    b = len(images)
    shifts = torch.randint(-max_shift, max_shift + 1, (b, 2), generator=generator)
    pad = max_shift
    padded = F.pad(images.unsqueeze(1), (pad, pad, pad, pad), mode="replicate").squeeze(1)  # (B, 28+2p, 28+2p)
    rows = (torch.arange(28) + pad).unsqueeze(0) - shifts[:, :1]  # (B, 28)
    cols = (torch.arange(28) + pad).unsqueeze(0) - shifts[:, 1:]  # (B, 28)
    batch = torch.arange(b)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]]  # (B, 28, 28)


@torch.no_grad()
def evaluate_loss(model: nn.Module, loader, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a loader."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        total_loss += F.cross_entropy(logits, targets, reduction="sum").item()
        correct += (logits.argmax(1) == targets).sum().item()
        count += len(targets)
    return total_loss / count, correct / count


def make_scheduler(optimizer, schedule: str, lr: float, steps: int):
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def batch_loss(logits: torch.Tensor, targets: torch.Tensor, batch_count: int, group: Group,
               label_smoothing: float = 0.0) -> tuple[torch.Tensor, float]:
    """The loss to minimise and the sum of this process's per-image losses (for the epoch's mean).

    DDP averages gradients over the N processes, so each one minimises its images' summed loss times
    N / (global batch): the average is the gradient of the global batch's mean, even when a last, short
    batch splits unevenly.
    """
    if not group.distributed:
        loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
        return loss, loss.item() * len(targets)
    summed = F.cross_entropy(logits, targets, reduction="sum", label_smoothing=label_smoothing)
    return summed * group.world / batch_count, summed.item()


def fit(model: nn.Module, train_loader, val_loader, params: MnistParams, device: torch.device,
        generator: torch.Generator, group: Group = SINGLE) -> tuple[list[dict], dict | None, list[float]]:
    """Run ``params.epochs`` epochs; return the per-epoch history, the best epoch (highest validation
    accuracy, then lowest validation loss) with its weights under ``"state_dict"``, and each epoch's seconds
    (kept apart from the history: they vary between identical runs). Under torchrun only rank 0 validates:
    the other ranks return no history and no best epoch."""
    trainer = wrap(model, group, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    scheduler = make_scheduler(optimizer, params.lr_schedule, params.lr, params.epochs * len(train_loader))
    history, best, epoch_seconds = [], None, []
    for epoch in range(1, params.epochs + 1):
        model.train()
        epoch_start, total_loss, correct, count = time.perf_counter(), 0.0, 0, 0
        for inputs, targets in tqdm(train_loader, desc=f"epoch {epoch}/{params.epochs}", leave=False,
                                    disable=not group.main):
            if params.augment_shift:
                inputs = random_shift(inputs, params.augment_shift, generator)
            batch_count = len(targets)
            inputs, targets = shard(inputs, group).to(device), shard(targets, group).to(device)  # (B / N, ...)
            logits = trainer(inputs)  # (B / N, 10)
            loss, summed = batch_loss(logits, targets, batch_count, group, params.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += summed
            correct += (logits.argmax(1) == targets).sum().item()
            count += len(targets)
        total_loss, correct, count = reduce([total_loss, correct, count], group, device, mean=False)
        if not group.main:
            continue
        val_loss, val_accuracy = evaluate_loss(model, val_loader, device)
        row = {"epoch": epoch, "train_loss": total_loss / count, "train_accuracy": correct / count,
               "val_loss": val_loss, "val_accuracy": val_accuracy, "lr": optimizer.param_groups[0]["lr"]}
        history.append(row)
        epoch_seconds.append(time.perf_counter() - epoch_start)
        log.info("epoch %d: train loss %.4f, val loss %.4f, val accuracy %.4f (%.1f s)",
                 epoch, row["train_loss"], val_loss, val_accuracy, epoch_seconds[-1])
        if best is None or (val_accuracy, -val_loss) > (best["val_accuracy"], -best["val_loss"]):
            best = {**row, "state_dict": copy.deepcopy(model.state_dict())}
    return history, best, epoch_seconds


def train(params: MnistParams, data_root: str | Path, model_path: str | Path, history_path: str | Path,
          device: torch.device, group: Group = SINGLE) -> tuple[dict | None, dict | None]:
    """Train from ``params`` (the checked ``mnist`` section); save the best model and per-epoch history;
    return the summary (also in the checkpoint: nothing in it varies between identical runs) and the timing
    (under torchrun: on rank 0; the other ranks return None, None)."""
    generator = seed_everything(params.seed, group.rank)
    images, labels = load_split(data_root, train=True)
    if params.train_limit:
        images, labels = images[: params.train_limit], labels[: params.train_limit]
    val_size = min(params.val_size, len(images) // 5)
    (train_x, train_y), (val_x, val_y) = split_validation(images, labels, val_size, generator)
    train_loader = make_loader(normalise(train_x).reshape(-1, 28, 28), train_y, params.batch_size,
                               shuffle=True, generator=generator)
    val_loader = make_loader(normalise(val_x), val_y, 1024, shuffle=False)
    model = MLP(params.hidden, params.activation, params.dropout).to(device)
    log.info("training %s (%d parameters) on %d images, validating on %d, device %s",
             list(params.hidden), parameter_count(model), len(train_x), len(val_x), device)

    started = time.perf_counter()
    history, best, epoch_seconds = fit(model, train_loader, val_loader, params, device, generator, group)
    train_seconds = time.perf_counter() - started
    if not group.main:
        return None, None
    model.load_state_dict(best.pop("state_dict"))
    summary = {
        "best_epoch": best["epoch"],
        "best_val_loss": best["val_loss"],
        "best_val_accuracy": best["val_accuracy"],
        "parameters": parameter_count(model),
    }
    save_checkpoint(model, model_path, extra={"summary": summary})
    write_history(history_path, history, HISTORY_FIELDS)
    return summary, {
        "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(train_seconds / params.epochs, 3),
        "train_images_per_second": round(params.epochs * len(train_x) / train_seconds),
        "epoch_seconds": [round(t, 2) for t in epoch_seconds],
        "processes": group.world,
        "threads": torch.get_num_threads(),  # per process (dllab/runtime.py: cpu_threads)
    }
