"""Training on several processes with DistributedDataParallel, started by torchrun.

One process (the default) runs exactly as before: no process group, no wrapper, the same bytes out.
Under ``torchrun`` (which sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT)
each process joins a process group (gloo on CPU, NCCL on CUDA, one GPU per process), wraps the model in
DDP (gradients averaged over the processes during ``backward``) and trains on its share of each global
batch: every process draws the same global batch from the same seeded generator and keeps its slice, so
an update is the one a single process makes on the whole batch, up to float rounding. Rank 0 alone
validates, writes the checkpoint, the history and the stage record, and logs.

A training stage asks for it with its params section's ``nproc``: above 1, and when torchrun did not start
the script, ``relaunch`` runs the same command under ``python -m torch.distributed.run --standalone``
(torchrun) with that many processes on this machine. Started by torchrun directly (several GPUs, several
machines), the script takes the number of processes from torchrun and ignores ``nproc``.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import torch
import torch.distributed as dist
from torch import nn

if TYPE_CHECKING:
    from dllab.params import Section

log = logging.getLogger("distributed")


@dataclass(frozen=True)
class Group:
    """Where this process stands among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


SINGLE = Group()


def started_by_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def processes(nproc: int) -> int:
    """How many processes will train: torchrun's when it started this one, else the param ``nproc``."""
    return int(os.environ["WORLD_SIZE"]) if started_by_torchrun() else nproc


def check_divisible(params: Section, processes: int) -> None:
    """The global batch (``params.batch_size``) is split evenly among the processes: refuse one that does not."""
    if params.batch_size % processes:
        raise params.invalid("batch_size", f"is not a multiple of the {processes} training processes "
                             f"({params.section}.nproc, or torchrun's --nproc-per-node x --nnodes); batch_size is "
                             f"the global batch, split evenly among them: choose a multiple of {processes}")


def relaunch(nproc: int, extra_args: list[str]) -> None:
    """Run this script again under torchrun with ``nproc`` processes on this machine and exit with its
    status; return at once when ``nproc`` is 1 or when torchrun started this process.

    ``extra_args`` are appended to the command (later options win in argparse): the paths this process
    chose, so that every rank writes where a single process would.
    """
    if nproc <= 1 or started_by_torchrun():
        return
    from dllab.cli import launch_argv
    from dllab.runtime import cpu_threads

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               *launch_argv(), *extra_args]
    # torchrun sets OMP_NUM_THREADS=1 (with a warning) unless told; each process's share of the cores:
    env = {**os.environ, "OMP_NUM_THREADS": str(cpu_threads(nproc))}
    log.info("starting %d processes: %s", nproc, " ".join(command))
    sys.exit(subprocess.run(command, env=env).returncode)


def launch(params: Section, paths: dict) -> None:
    """What a training stage does before it trains: check that the global batch of its params section
    (``batch_size``) splits among the processes (before any process starts), then relaunch under torchrun when
    ``params.nproc`` asks for it, with the stage's output ``paths`` ({"model": ..., "history": ...}) given
    explicitly to every rank."""
    check_divisible(params, processes(params.nproc))
    relaunch(params.nproc, [arg for name, path in paths.items() for arg in (f"--{name}", str(path))])


def join(device: torch.device) -> Group:
    """Join the process group torchrun prepared (nothing to join for a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return SINGLE
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        torch.cuda.set_device(device)  # pick_device gave this process its own GPU: cuda:LOCAL_RANK
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if rank:
        logging.getLogger().setLevel(logging.WARNING)  # rank 0 tells the story
    return Group(rank, world)


@contextmanager
def process_group(device: torch.device) -> Iterator[Group]:
    group = join(device)
    try:
        yield group
    finally:
        if group.distributed:
            dist.destroy_process_group()


def wrap(model: nn.Module, group: Group, device: torch.device) -> nn.Module:
    """The model to train with: DDP (which also copies rank 0's initial weights to every rank) or itself."""
    if not group.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def shard(batch: torch.Tensor, group: Group) -> torch.Tensor:
    """This process's slice of a global batch along dim 0 (slices differ by one row at most)."""
    if not group.distributed:
        return batch
    return batch.tensor_split(group.world)[group.rank]


def reduce(values: list[float], group: Group, device: torch.device, mean: bool) -> list[float]:
    """Sum (or mean) of each value over the processes, known to all of them."""
    if not group.distributed:
        return values
    total = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return (total / group.world if mean else total).tolist()


def any_process(flag: bool, group: Group, device: torch.device) -> bool:
    """True on every process when it is true on one (so all stop at the same step)."""
    return bool(reduce([float(flag)], group, device, mean=False)[0]) if group.distributed else flag
