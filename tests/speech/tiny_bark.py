"""Tiny random Bark weights laid out exactly like the real ones, so Bark's whole code path runs offline.

Real layout (what Bark, transformers and torch.hub download):
- ``$XDG_CACHE_HOME/suno/bark_v0/{text,coarse,fine}.pt`` (small models; ``*_2.pt`` the large ones): dicts
  with ``model_args``, ``model`` (state dict with torch.compile's ``_orig_mod.`` prefix) and
  ``best_val_loss`` (a numpy scalar, which is why torch's ``weights_only`` loader refuses them);
- ``$HF_HOME/hub/models--bert-base-multilingual-cased/snapshots/<commit>/`` the tokenizer files;
- ``$TORCH_HOME/hub/checkpoints/encodec_24khz-d7cc33bc.th`` encodec's state dict.
The vocabularies and encodec's architecture are the real ones; only the GPTs are one thin layer.

Random weights never say "end of speech", so Bark would make its maximum of 768 semantic tokens (15 s of
audio, a minute of CPU on a busy machine) per piece. One embedding dimension of the text model is made a
clock that says it after ``SEMANTIC_TOKENS`` tokens (about 0.8 s of audio), as a trained model would.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

TINY = {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 1024, "dropout": 0.0, "bias": True}
VOCABS = {  # Bark's real input and output vocabulary sizes
    "text": {"input_vocab_size": 129_600, "output_vocab_size": 10_048},
    "coarse": {"input_vocab_size": 12_096, "output_vocab_size": 12_096},
    "fine": {"input_vocab_size": 1_056, "output_vocab_size": 1_056, "n_codes_total": 8, "n_codes_given": 1},
}
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Bonjour", "bonjour", "Salut", "à", "tous", "ça",
         "va", "le", "la", "monde", ".", ",", "?", "!", "'", "-", "é", "##s", "##e", "##t"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SEMANTIC_TOKENS = 40


def make_tiny_bark(root: Path, small: bool = True) -> dict[str, str]:
    """Write the weights under ``root``; return the environment variables that point Bark there."""
    env = {"XDG_CACHE_HOME": str(root / "cache"), "HF_HOME": str(root / "hf"), "TORCH_HOME": str(root / "torch")}
    torch.manual_seed(0)
    _write_gpts(root / "cache" / "suno" / "bark_v0", "" if small else "_2")
    _write_tokenizer(root / "hf" / "hub" / "models--bert-base-multilingual-cased")
    _write_encodec(root / "torch" / "hub" / "checkpoints" / "encodec_24khz-d7cc33bc.th")
    return env


def _write_gpts(folder: Path, suffix: str) -> None:
    from bark.model import GPT, GPTConfig
    from bark.model_fine import FineGPT, FineGPTConfig

    folder.mkdir(parents=True, exist_ok=True)
    for part, vocab in VOCABS.items():
        config, model_class = (FineGPTConfig, FineGPT) if part == "fine" else (GPTConfig, GPT)
        model = model_class(config(**TINY, **vocab))
        if part == "text":
            _stop_after(model, SEMANTIC_TOKENS)
        checkpoint = {
            "model_args": {**TINY, **vocab},
            "model": {f"_orig_mod.{k}": v for k, v in model.state_dict().items()},
            "best_val_loss": np.float64(3.0),
            "iter_num": 0,
        }
        torch.save(checkpoint, folder / f"{part}{suffix}.pt")


@torch.no_grad()
def _stop_after(model, tokens: int) -> None:
    """Make the text model predict Bark's end token (SEMANTIC_PAD_TOKEN) once ``tokens`` are generated.

    Dimension 0 of the residual stream is set by the position embedding alone (-1 before, +100 from
    then on); only the end token's output row reads it, so the end is certain then and unlikely before.
    """
    from bark.generation import SEMANTIC_PAD_TOKEN

    clock, first_generated = 0, 256 + 1  # text and history are merged into 256 positions, plus the infer token
    model.transformer.wte.weight[:, clock] = 0
    for block in model.transformer.h:
        block.attn.c_proj.weight[clock] = 0
        block.attn.c_proj.bias[clock] = 0
        block.mlp.c_proj.weight[clock] = 0
        block.mlp.c_proj.bias[clock] = 0
    model.transformer.wpe.weight[:, clock] = -1.0
    model.transformer.wpe.weight[first_generated + tokens:, clock] = 100.0
    model.lm_head.weight[:, clock] = 0
    model.lm_head.weight[SEMANTIC_PAD_TOKEN] = 0
    model.lm_head.weight[SEMANTIC_PAD_TOKEN, clock] = 10.0


def _write_tokenizer(repo: Path) -> None:
    from transformers import BertTokenizer

    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)}, do_lower_case=False).save_pretrained(snapshot)
    (snapshot / "vocab.txt").write_text("\n".join(WORDS) + "\n")  # the real repository ships both forms
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)


def _write_encodec(path: Path) -> None:
    from encodec import EncodecModel

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(EncodecModel.encodec_model_24khz(pretrained=False).state_dict(), path)
