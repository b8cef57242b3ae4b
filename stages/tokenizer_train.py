"""Stage tokenizer_train: a SentencePiece BPE tokenizer with byte fallback, trained on the training text;
records tokens per character on the validation text."""
import argparse
import json
from pathlib import Path

from dllab.cli import run
from dllab.params import load
from dllab.text.config import TokenizerParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--out", default="models/tokenizer")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    params = load(args.params, TokenizerParams)

    from dllab.files import atomic_dir, write_json
    from dllab.text.corpus import read_text
    from dllab.text.tokenizer import Tokenizer, train_tokenizer

    train_path, val_path = Path(args.corpus) / "train.txt", Path(args.corpus) / "val.txt"
    train_text, val_text = read_text(train_path), read_text(val_path)
    with atomic_dir(args.out) as folder:
        tokenizer = Tokenizer(train_tokenizer(train_text, params, folder, source=str(train_path)))
        val_tokens = len(tokenizer.encode_long(val_text))
        stats = {"vocab_size": tokenizer.vocab_size, "val_characters": len(val_text), "val_tokens": val_tokens,
                 "val_tokens_per_char": round(val_tokens / len(val_text), 4)}
        write_json(folder / "stats.json", stats)
    print(json.dumps(stats))


if __name__ == "__main__":
    run(main)
