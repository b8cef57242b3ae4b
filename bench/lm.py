"""Benchmark: train both default language models from params.yaml, then compare them on the test text.

Measures training time, training and generation tokens per second, and test bits per character
against the targets (each model <= 300 s; Transformer <= 1.9 nats per character and below the LSTM).
Writes reports/bench/lm.json with the machine description. Run `python bench/lm.py` after
`dvc repro tokenizer_train` (it needs data/corpus and models/tokenizer).
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from dllab.files import write_json
from dllab.params import load
from dllab.runtime import machine_description, pick_device
from dllab.text.config import MODEL_PARAMS, LmEvaluateParams
from dllab.text.evaluate import evaluate_models
from dllab.text.train import train

TARGETS = {"train_seconds_max": 300, "transformer_val_loss_per_char_max": 1.9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--tokenizer", default="models/tokenizer")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="reports/bench/lm.json")
    args = parser.parse_args()
    device = pick_device()
    report = {"benchmark": "lm", "params": {}, "wall_seconds": {}, "timing": {}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for kind, model in MODEL_PARAMS.items():
            params = load(args.params, model)
            report["params"][kind] = params.model_dump()
            paths[kind] = Path(tmp) / f"{kind}.pt"
            started = time.perf_counter()
            _, timing = train(params, args.corpus, args.tokenizer, paths[kind], Path(tmp) / f"{kind}.csv", device)
            report["timing"][kind] = {k: v for k, v in timing.items() if not isinstance(v, list)}
            report["wall_seconds"][kind] = round(time.perf_counter() - started, 1)  # with tokenising the corpus
        evaluate_params = load(args.params, LmEvaluateParams)
        metrics, _, speeds = evaluate_models(paths, args.tokenizer, args.corpus, evaluate_params, device)
    lstm, transformer = metrics["lstm"], metrics["transformer"]
    train_seconds = max(t["train_seconds"] for t in report["timing"].values())
    report.update(metrics=metrics, generation_tokens_per_second=speeds, targets=TARGETS, met={
        "train_seconds": train_seconds <= TARGETS["train_seconds_max"],
        "transformer_test_loss_per_char":
            transformer["test_loss_per_char"] <= TARGETS["transformer_val_loss_per_char_max"],
        "transformer_below_lstm": transformer["test_bpc"] < lstm["test_bpc"],
        "both_below_unigram": max(lstm["test_bpc"], transformer["test_bpc"]) < metrics["unigram"]["test_bpc"],
    }, machine=machine_description(device))
    write_json(args.out, report)
    print(json.dumps({k: report[k] for k in ("metrics", "timing", "wall_seconds", "met")}, indent=2))


if __name__ == "__main__":
    main()
