"""Where and how computations run: device choice, CPU threads, seeding, machine description."""
from __future__ import annotations

import os
import platform
import random

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU with one thread per core."""
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        from dllab.errors import UserError

        raise UserError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if preference == "cpu":
        # Interop threads only add contention for the small models trained here.
        torch.set_num_threads(os.cpu_count() or 1)
    return torch.device(preference)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for data order."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
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
