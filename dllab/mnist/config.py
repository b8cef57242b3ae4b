"""The ``mnist`` section of params.yaml: what each key may hold, and which stage reads which keys."""
from dllab.mnist.model import ACTIVATIONS
from dllab.params import integer, list_of, number, one_of, text

SPEC = {
    "sources": list_of(text()),
    "hidden": list_of(integer(min=1, max=65536)),
    "activation": one_of(*ACTIVATIONS),
    "dropout": number(min=0, max=0.95),
    "lr": number(above=0),
    "weight_decay": number(min=0),
    "lr_schedule": one_of("none", "cosine", "onecycle"),
    "batch_size": integer(min=1, max=65536),
    "epochs": integer(min=1, max=1000),
    "val_size": integer(min=1, max=30000),
    "train_limit": integer(min=0),
    "augment_shift": integer(min=0, max=4),
    "seed": integer(min=0),
    "nproc": integer(min=1, max=1024),  # training processes (torchrun, DDP); batch_size stays the global batch
}
DOWNLOAD_KEYS = ["sources"]
TRAIN_KEYS = [k for k in SPEC if k != "sources"]
