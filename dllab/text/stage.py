"""The command line both training stages share (stages/lstm_train.py, stages/transformer_train.py)."""
from __future__ import annotations

import argparse
import json

from dllab.cli import dry_run_paths, record_timing
from dllab.params import load
from dllab.text.config import MODEL_PARAMS

DRY_RUN = {"max_steps": 5, "eval_interval": 5, "eval_batches": 1, "max_seconds": 0}


def train_stage(kind: str, description: str) -> None:
    """Parse paths, read the ``kind`` section of params.yaml, train, print the summary."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--tokenizer", default="models/tokenizer")
    parser.add_argument("--model", help=f"default models/{kind}/model.pt (with --dry-run: a temporary folder)")
    parser.add_argument("--history", help=f"default reports/lm/{kind}_history.csv (with --dry-run: a temporary folder)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dry-run", action="store_true",
                        help="5 steps on small batches, written to a temporary folder unless paths are given")
    args = parser.parse_args()
    params = load(args.params, MODEL_PARAMS[kind])

    from dllab import distributed
    from dllab.runtime import pick_device
    from dllab.text.train import train

    if args.dry_run:  # small batches: 4 windows, or the next multiple of the training processes
        processes = distributed.processes(params.nproc)
        small = -(-min(params.batch_size, 4) // processes) * processes
        params = params.with_values(**DRY_RUN, batch_size=small, context=min(params.context, 32))
    paths = dry_run_paths(args.dry_run, kind, model=(args.model, f"models/{kind}/model.pt"),
                          history=(args.history, f"reports/lm/{kind}_history.csv"))
    distributed.launch(params, paths)
    device = pick_device(args.device)
    with distributed.process_group(device) as group:
        summary, timing = train(params, args.corpus, args.tokenizer, paths["model"], paths["history"], device, group)
    if not group.main:
        return
    record_timing(**timing)
    print(json.dumps({**summary, **{k: v for k, v in timing.items() if not isinstance(v, list)},
                      "model": str(paths["model"]), "history": str(paths["history"])}, indent=2))
