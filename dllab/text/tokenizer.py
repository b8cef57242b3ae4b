"""A SentencePiece BPE tokenizer that can encode any text losslessly.

Byte fallback turns any character outside the vocabulary into its UTF-8 bytes, so no input is ever unknown;
identity normalisation and no dummy prefix keep ``decode(encode(x)) == x`` exact, spaces and newlines
included. SentencePiece reads its training text line by line, so a newline is always its own byte token
and no piece spans two lines: long texts can be encoded in line-aligned blocks.
"""
from __future__ import annotations

import io
import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING

from dllab.errors import DataError
from dllab.files import write_bytes

if TYPE_CHECKING:
    from dllab.text.config import TokenizerParams

log = logging.getLogger("text.tokenizer")

SPECIALS = 3  # <unk>, <s>, </s>
BYTE_PIECES = 256
MODEL_FILE = "tokenizer.model"
ENCODE_BLOCK_CHARS = 200_000
SPACE_MARKER = "\u2581"  # "▁": how SentencePiece writes a space inside its pieces


def minimum_vocab_size(text: str) -> int:
    """Specials, the 256 byte pieces and one piece per distinct character (SentencePiece needs them all)."""
    return SPECIALS + BYTE_PIECES + len(set(text) - {"\n"})


def check_vocab_size(params: TokenizerParams, text: str, source: str) -> None:
    """Stop before training when ``tokenizer.vocab_size`` cannot fit this corpus."""
    low = minimum_vocab_size(text)
    if params.vocab_size <= low:
        raise params.invalid("vocab_size", f"is too small for {source}: it needs more than {low} "
                                           f"(3 specials + 256 bytes + {low - 259} distinct characters)")
    words = len(set(text.split()))
    # BPE merges only join pieces inside a word, so there are at most about as many useful merges as
    # distinct words plus their sub-words; beyond ~4x distinct words SentencePiece runs out of pieces.
    high = low + 4 * words
    if params.vocab_size > high:
        raise params.invalid("vocab_size", f"is too large for {source} ({words} distinct words): use at most "
                                           f"{high}, or a bigger corpus")


def train_tokenizer(train_text: str, params: TokenizerParams, out_dir: str | Path,
                    source: str = "the corpus") -> Path:
    """Train BPE on up to ``params.max_lines`` lines of ``train_text`` (a seeded sample); return the model path."""
    import sentencepiece as spm

    check_vocab_size(params, train_text, source)
    lines = [line for line in train_text.split("\n") if line.strip()]
    if len(lines) > params.max_lines:
        lines = random.Random(params.seed).sample(lines, params.max_lines)
    log.info("training BPE (vocab %d) on %d lines", params.vocab_size, len(lines))
    # Lines in and model bytes out through memory: no temporary path ends up inside the model file,
    # so the same text and params give a byte-identical tokenizer (and DVC sees nothing changed).
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=model, vocab_size=params.vocab_size,
            model_type="bpe", byte_fallback=True, character_coverage=1.0,
            normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False,
            split_digits=True, allow_whitespace_only_pieces=True, max_sentence_length=1 << 16,
            num_threads=2, minloglevel=2,
        )
    except RuntimeError as exc:
        if "vocab" in str(exc).lower():
            raise params.invalid("vocab_size", f"does not fit {source}: {exc}") from None
        raise DataError(f"SentencePiece could not train on {source}: {exc}") from None
    target = Path(out_dir) / MODEL_FILE
    write_bytes(target, model.getvalue())
    return target


class Tokenizer:
    """Text ↔ token ids with a trained SentencePiece model."""

    def __init__(self, path: str | Path):
        import sentencepiece as spm

        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        if not path.is_file():
            raise DataError(f"{path}: tokenizer not found; run `dvc repro tokenizer_train` first")
        self.path = path
        self.sp = spm.SentencePieceProcessor(model_file=str(path))
        self.vocab_size = self.sp.get_piece_size()
        self.space_marker_ids = [self.sp.piece_to_id(f"<0x{byte:02X}>") for byte in SPACE_MARKER.encode()]
        # Generation needs something to condition on when the prompt is empty: a line break.
        self.newline_ids = self.encode("\n")

    def encode(self, text: str) -> list[int]:
        # A literal "▁" in the text would come back as a space: spell it out as its three byte pieces.
        ids = []
        for i, part in enumerate(text.split(SPACE_MARKER)):
            if i:
                ids.extend(self.space_marker_ids)
            if part:
                ids.extend(self.sp.encode(part))
        return ids

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode(list(ids))

    def encode_long(self, text: str) -> list[int]:
        """The same ids as ``encode`` for a long text, computed block by block (cut after newlines)."""
        ids, start = [], 0
        while start < len(text):
            end = text.find("\n", start + ENCODE_BLOCK_CHARS)
            end = len(text) if end < 0 else end + 1
            ids.extend(self.encode(text[start:end]))
            start = end
        return ids
