"""Stage mnist_download: the four canonical MNIST IDX files, md5-verified, in <out>/MNIST/raw/."""
import argparse
from pathlib import Path

from dllab.cli import run
from dllab.mnist.config import MnistParams
from dllab.params import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="data/mnist", help="dataset root (torchvision layout)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per network request")
    args = parser.parse_args()
    params = load(args.params, MnistParams, only=MnistParams.DOWNLOAD_KEYS)

    from dllab.mnist.download import fetch_mnist

    origin = fetch_mnist(Path(args.out) / "MNIST" / "raw", params.sources, timeout=args.timeout)
    for name, source in sorted(origin.items()):
        print(f"{name}: from {source}, md5 verified")
    if not origin:
        print("all four files already present and verified")


if __name__ == "__main__":
    run(main)
