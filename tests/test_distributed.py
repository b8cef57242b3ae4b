"""How a global batch is shared among training processes, and how many threads each process takes."""
import pytest
import torch

from dllab.distributed import Group, check_divisible, processes, shard
from dllab.errors import ParamError, UserError
from dllab.text.config import LstmParams
from dllab.runtime import cpu_threads, seed_everything


def test_each_process_takes_its_own_slice_of_the_global_batch():
    batch = torch.arange(10)
    assert torch.equal(shard(batch, Group()), batch)  # one process: the whole batch, the same tensor
    slices = [shard(batch, Group(rank, 2)).tolist() for rank in range(2)]
    assert slices == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    uneven = [len(shard(torch.arange(11), Group(rank, 4))) for rank in range(4)]
    assert uneven == [3, 3, 3, 2]


def test_a_batch_that_does_not_split_is_named_with_the_fix():
    check_divisible(LstmParams(batch_size=32), 4)
    with pytest.raises(ParamError, match=r"^params.yaml: lstm.batch_size = 30 is not a multiple of the 4 training "
                                         r"processes \(lstm.nproc.*choose a multiple of 4"):
        check_divisible(LstmParams(batch_size=30), 4)
    with pytest.raises(ParamError, match=r"^exp.yaml: lstm.batch_size = 30 "):  # the file given with --params
        check_divisible(LstmParams.from_mapping({"batch_size": 30}, source="exp.yaml"), 4)


def test_torchrun_decides_the_process_count_when_it_started_the_script(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert processes(3) == 3
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "16")  # e.g. 2 machines x 8 GPUs
    assert processes(1) == 16


def test_threads_are_the_job_cores_shared_by_its_processes(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.delenv("DLLAB_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert cpu_threads() == 16
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun's processes on this machine
    assert cpu_threads() == 4
    monkeypatch.setenv("DLLAB_THREADS", "8")  # one of two queued jobs on 16 cores
    assert cpu_threads() == 2 and cpu_threads(1) == 8 and cpu_threads(16) == 1
    monkeypatch.setenv("DLLAB_THREADS", "many")
    with pytest.raises(UserError, match="DLLAB_THREADS = 'many' is not a positive integer"):
        cpu_threads()


def test_rank_seeds_differ_but_the_data_order_does_not():
    orders = [torch.randint(100, (5,), generator=seed_everything(7, rank)) for rank in (0, 1)]
    assert torch.equal(orders[0], orders[1])
    seed_everything(7, 0)
    first = torch.rand(3)
    seed_everything(7, 1)
    assert not torch.equal(first, torch.rand(3))
    seed_everything(7)
    assert torch.equal(first, torch.rand(3))  # rank 0 is the single process
