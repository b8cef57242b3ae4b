"""Stage corpus_download: the language-model corpus from corpus.sources, normalised and split (train.txt,
val.txt, test.txt, stats.json)."""
import argparse
import json

from dllab.cli import run
from dllab.params import load
from dllab.text.config import CorpusParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="data/corpus")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per network request")
    args = parser.parse_args()
    params = load(args.params, CorpusParams)

    from dllab.text.corpus import build_corpus

    stats = build_corpus(params, args.out, timeout=args.timeout)
    print(json.dumps({k: stats[k] for k in ("train", "val", "test")}))


if __name__ == "__main__":
    run(main)
