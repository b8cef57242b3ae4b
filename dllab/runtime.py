"""Where and how computations run: device choice, CPU threads, seeding, machine description."""
from __future__ import annotations

import os
import platform
import random

import torch


THREADS_ENV = "DLLAB_THREADS"


def cpu_threads(processes: int | None = None) -> int:
    """CPU threads for one process: the job's cores (``DLLAB_THREADS``, default all cores) shared among the
    ``processes`` this job runs on this machine (default: torchrun's LOCAL_WORLD_SIZE, else 1).

    Two experiments run side by side by ``dvc queue start -j 2`` each get all cores unless told: run the
    queue with ``DLLAB_THREADS=1`` on 2 cores (cores / jobs in general) so they do not oversubscribe them.
    """
    raw = os.environ.get(THREADS_ENV, "")
    try:
        budget = int(raw) if raw else os.cpu_count() or 1
        if budget < 1:
            raise ValueError
    except ValueError:
        from dllab.errors import UserError

        raise UserError(f"environment variable {THREADS_ENV} = {raw!r} is not a positive integer; set it to the "
                        f"number of cores this job may use (e.g. cores / queue jobs) or unset it") from None
    if processes is None:
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, budget // processes)


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU with this process's share of the cores as threads.
    Under torchrun each process on a machine gets its own GPU (``cuda:LOCAL_RANK``)."""
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        from dllab.errors import UserError

        raise UserError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if preference == "cpu":
        # Interop threads only add contention for the small models trained here.
        torch.set_num_threads(cpu_threads())
    elif "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(preference)


def seed_everything(seed: int, rank: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch with ``seed + rank`` (each training process draws its own dropout
    masks; rank 0, and so a single process, uses ``seed`` itself); return a torch generator seeded with
    ``seed`` for the data order, the same in every process."""
    import numpy as np

    random.seed(seed + rank)
    np.random.seed(seed + rank)
    torch.manual_seed(seed + rank)
    return torch.Generator().manual_seed(seed)


def machine_description(device: torch.device | None = None) -> dict:
    """What a measured number was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import psutil

        memory_gib = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        memory_gib = None
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(device) if device is not None else "cpu",
    }
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
