"""Stage mnist_train: train the fully connected network and keep its best epoch."""
import argparse
import json

from dllab.cli import dry_run_paths, record_timing, run
from dllab.mnist.config import MnistParams
from dllab.params import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--model", help="default models/mnist/model.pt (with --dry-run: a temporary folder)")
    parser.add_argument("--history", help="default reports/mnist/train_history.csv (with --dry-run: a temporary folder)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dry-run", action="store_true", help="1 epoch on 2,000 images, written to a temporary folder unless paths are given")
    args = parser.parse_args()
    params = load(args.params, MnistParams, only=MnistParams.TRAIN_KEYS)
    if args.dry_run:
        params = params.with_values(epochs=1, train_limit=2000, val_size=500)

    paths = dry_run_paths(args.dry_run, "mnist", model=(args.model, "models/mnist/model.pt"),
                          history=(args.history, "reports/mnist/train_history.csv"))

    from dllab import distributed
    from dllab.mnist.train import train
    from dllab.runtime import pick_device

    distributed.launch(params, paths)
    device = pick_device(args.device)
    with distributed.process_group(device) as group:
        summary, timing = train(params, args.data, paths["model"], paths["history"], device, group)
    if not group.main:
        return
    record_timing(**timing)
    print(json.dumps({**summary, **{k: v for k, v in timing.items() if not isinstance(v, list)},
                      "model": str(paths["model"]), "history": str(paths["history"])}, indent=2))


if __name__ == "__main__":
    run(main)
