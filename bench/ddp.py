"""Benchmark: the default LSTM trained by one process against `nproc` processes under torchrun (DDP), at
the same global batch (`lstm.batch_size`), through the real stage (`python stages/lstm_train.py`).

Each run trains `--steps` steps from the params.yaml LSTM (validation only at the first and last step) and
reports rank 0's seconds per training step (waiting for the other ranks and the gradient all-reduce
included); the ratio is one process's seconds per step over N processes' (above 1: DDP is faster). A third
configuration, one process with the threads one of the N ranks gets (cores / N), separates what the
threads change from what splitting the batch and averaging gradients changes. The final training losses
are reported too: they agree to float rounding, since the global batch is the same.
Writes reports/bench/ddp.json with the machine description and the load average around each run (other
work on the machine slows both sides). Run `python bench/ddp.py` after `dvc repro tokenizer_train` (it needs
data/corpus and models/tokenizer).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from dllab.files import write_json
from dllab.params import load
from dllab.runtime import machine_description
from dllab.text.config import LstmParams

REPO = Path(__file__).resolve().parents[1]


def run(params: LstmParams, nproc: int, threads: int | None, tmp: Path, args) -> dict:
    """One training run of the stage (``threads``: the job's DLLAB_THREADS, None = all cores); its record,
    final training loss, wall time and load."""
    folder = tmp / f"nproc{nproc}-threads{threads}"
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump({"lstm": params.with_values(nproc=nproc).model_dump()}))
    command = [sys.executable, "stages/lstm_train.py", "--corpus", args.corpus, "--tokenizer", args.tokenizer,
               "--params", str(folder / "params.yaml"), "--model", str(folder / "model.pt"),
               "--history", str(folder / "history.csv"), "--device", "cpu", "--record", str(folder / "record.json")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's dllab for the stage and its torchrun ranks
    env.pop("DLLAB_THREADS", None)
    if threads:
        env["DLLAB_THREADS"] = str(threads)
    load_before, started = os.getloadavg()[0], time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    record = json.loads((folder / "record.json").read_text())
    rows = list(csv.DictReader((folder / "history.csv").open()))
    return {"processes": record["processes"], "threads_per_process": record["threads"],
            "seconds_per_step": record["seconds_per_step"], "steps_per_second": round(1 / record["seconds_per_step"], 3),
            "train_tokens_per_second": record["train_tokens_per_second"], "wall_seconds": round(wall, 1),
            "final_train_loss": float(rows[-1]["train_loss"]), "final_val_loss": float(rows[-1]["val_loss"]),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--tokenizer", default="models/tokenizer")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--steps", type=int, default=60, help="training steps per run")
    parser.add_argument("--nproc", type=int, default=2, help="processes to compare with one")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, alternated")
    parser.add_argument("--out", default="reports/bench/ddp.json")
    args = parser.parse_args()
    params = load(args.params, LstmParams).with_values(max_steps=args.steps, eval_interval=args.steps, max_seconds=0)
    cores = os.cpu_count() or 1
    configurations = {"1 process": (1, None), f"{args.nproc} processes": (args.nproc, None),
                      f"1 process, {max(cores // args.nproc, 1)} thread(s)": (1, max(cores // args.nproc, 1))}
    runs = {name: [] for name in configurations}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, (nproc, threads) in configurations.items():
                runs[name].append(run(params, nproc, threads, Path(tmp) / str(repeat), args))
    best = {name: min(r["seconds_per_step"] for r in results) for name, results in runs.items()}
    report = {
        "benchmark": "ddp",
        "model": "lstm",
        "params": params.model_dump(),
        "global_batch": params.batch_size,
        "runs": runs,
        "best_seconds_per_step": best,
        # steps/s of N processes over steps/s of one, at the same global batch (best run of each)
        "speedup": round(best["1 process"] / best[f"{args.nproc} processes"], 3),
        "machine": machine_description(),
    }
    write_json(args.out, report)
    print(json.dumps({k: report[k] for k in ("best_seconds_per_step", "speedup")}, indent=2))


if __name__ == "__main__":
    main()
