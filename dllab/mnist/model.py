"""A fully connected classifier for 28×28 digits, built from a small config dict."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}
INPUT_SIZE, CLASSES = 28 * 28, 10


class MLP(nn.Module):
    """784 → hidden[0] → … → hidden[-1] → 10, with an activation and dropout after each hidden layer."""

    def __init__(self, hidden: list[int], activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        self.config = {"hidden": list(hidden), "activation": activation, "dropout": dropout}
        layers, width = [], INPUT_SIZE
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, CLASSES))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 784) or (B, 28, 28) → logits (B, 10)
        return self.net(x.reshape(len(x), -1))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_checkpoint(model: MLP, path: str | Path, extra: dict | None = None) -> None:
    """Weights plus the config needed to rebuild the model, written atomically."""
    from dllab.files import write_torch

    write_torch(path, {"config": model.config, "state_dict": model.state_dict(), **(extra or {})})


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[MLP, dict]:
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model = MLP(**checkpoint["config"]).to(device)
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, checkpoint
