"""MNIST as tensors: decoded once through torchvision, normalised, served in shuffled batches.

Per-sample PIL transforms would make a CPU epoch about ten times slower than the model itself,
so the whole split lives in one tensor and the DataLoader hands out index batches.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from dllab.mnist.idx import require_canonical

MEAN, STD = 0.1307, 0.3081  # pixel statistics of the training set, as in pytorch/examples


def load_split(root: str | Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images uint8 N×28×28, labels int64 N) read by torchvision from ``root/MNIST/raw``."""
    from torchvision.datasets import MNIST

    require_canonical(Path(root) / "MNIST" / "raw")
    dataset = MNIST(str(root), train=train, download=False)
    return dataset.data, dataset.targets


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×28×28 → float32 N×784, zero mean and unit variance over the training set."""
    return ((images.float() / 255.0 - MEAN) / STD).reshape(len(images), -1)


def split_validation(
    images: torch.Tensor, labels: torch.Tensor, val_size: int, generator: torch.Generator
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Hold a seeded random ``val_size`` images out of the training set for per-epoch curves."""
    order = torch.randperm(len(images), generator=generator)
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])


class TensorBatches(Dataset):
    """A dataset indexed by whole batches of indices, so one lookup returns one batch."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor):
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, indices):
        return self.inputs[indices], self.targets[indices]


def make_loader(
    inputs: torch.Tensor, targets: torch.Tensor, batch_size: int, shuffle: bool,
    generator: torch.Generator | None = None,
) -> DataLoader:
    dataset = TensorBatches(inputs, targets)
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    # batch_size=None: the sampler already yields index lists, and the dataset answers with a batch.
    return DataLoader(dataset, batch_size=None, sampler=BatchSampler(order, batch_size, drop_last=False))
