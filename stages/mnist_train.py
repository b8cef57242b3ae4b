"""Stage mnist_train: train the fully connected network and keep its best epoch."""
import argparse
import json

from dllab.cli import run
from dllab.mnist.config import SPEC, TRAIN_KEYS
from dllab.params import load_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--model", default="models/mnist/model.pt")
    parser.add_argument("--history", default="reports/mnist/train_history.csv")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dry-run", action="store_true", help="1 epoch on 2,000 images: a smoke test")
    args = parser.parse_args()
    params = load_section(args.params, "mnist", SPEC, only=TRAIN_KEYS)
    if args.dry_run:
        params.update(epochs=1, train_limit=2000, val_size=500)

    from dllab.mnist.train import train
    from dllab.runtime import pick_device

    summary = train(params, args.data, args.model, args.history, pick_device(args.device))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    run(main)
