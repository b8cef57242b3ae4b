"""Small shared fixtures for the language-model tests: a short English text, a tokenizer trained on it,
and tiny models."""
from __future__ import annotations

import pytest

# Enough varied English for BPE merges and a few hundred training steps; repeated so a tiny model can
# learn it quickly (the loss-falls test needs a text that can be memorised).
TEXT = """\
First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?

All:
Resolved. resolved.

First Citizen:
First, you know Caius Marcius is chief enemy to the people.
"""


@pytest.fixture(scope="session")
def text() -> str:
    return TEXT * 20


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory, text):
    from dllab.text.config import TokenizerParams
    from dllab.text.tokenizer import Tokenizer, train_tokenizer

    return Tokenizer(train_tokenizer(text, TokenizerParams(vocab_size=320, max_lines=10_000),
                                     tmp_path_factory.mktemp("tokenizer")))


@pytest.fixture
def tiny_transformer(tokenizer):
    import torch

    from dllab.text.transformer import TransformerLM

    torch.manual_seed(0)
    return TransformerLM(tokenizer.vocab_size, context=16, dim=32, layers=2, heads=4)


@pytest.fixture
def tiny_lstm(tokenizer):
    import torch

    from dllab.text.lstm import LSTMLM

    torch.manual_seed(0)
    return LSTMLM(tokenizer.vocab_size, context=16, embed=24, hidden=32, layers=2)
