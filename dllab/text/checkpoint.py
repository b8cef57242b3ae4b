"""Saving and loading either language model with what it takes to rebuild it."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dllab.errors import DataError
from dllab.files import write_torch
from dllab.text.lstm import LSTMLM
from dllab.text.transformer import TransformerLM

MODEL_KINDS = {"lstm": LSTMLM, "transformer": TransformerLM}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # tied weights are counted once


def save_checkpoint(model: nn.Module, kind: str, path: str | Path, extra: dict | None = None) -> None:
    write_torch(path, {"kind": kind, "config": model.config, "state_dict": model.state_dict(), **(extra or {})})


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """The model in eval mode and the whole checkpoint dict (kind, config, summary...)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model not found; train it first (`dvc repro lstm_train` or `transformer_train`)")
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model = MODEL_KINDS[checkpoint["kind"]](**checkpoint["config"]).to(device)
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, checkpoint
