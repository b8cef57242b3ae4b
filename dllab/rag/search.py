"""Searching the knowledge base: hybrid dense + BM25 ranking over the ChromaDB index.

    from dllab.rag.search import search
    for hit in search("Comment faire une tarte aux pommes ?", k=4):
        print(hit.file, hit.page, round(hit.score, 3), hit.text[:80])

Chroma writes to its SQLite file whenever a client opens it, even to read. So that reading never
changes the DVC output ``models/chromadb`` (which would make ``dvc repro`` rebuild it), a Retriever opens
a private temporary copy of the index folder (a few MB for the default documents; milliseconds),
named ``dllab-rag-<pid>-...`` and removed when the Retriever is closed or the process exits; copies
left by processes killed outright are removed by the next ``Retriever.open``.
An index built on a Chroma server (``rag.chroma_url``; its folder holds only ``manifest.json``) is read there
directly: the server's version that its pointer names (see ``dllab.rag.server``).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dllab.errors import UserError
from dllab.rag.store import COLLECTION, open_client
from dllab.rag.lexical import BM25
from dllab.rag.server import read_manifest

DEFAULT_INDEX = "models/chromadb"
CANDIDATES = 50  # passages taken from each ranking before fusion
RECENT_QUERIES = 256  # question embeddings kept in memory
SENTENCE_VECTORS = 100_000  # sentence embeddings kept in memory at most (~150 MB at 384 dimensions)
COPY_PREFIX = "dllab-rag-"
_COPY_NAME = re.compile(re.escape(COPY_PREFIX) + r"(\d+)-\w+")


@dataclass
class Hit:
    text: str
    file: str  # path relative to the documents folder
    page: int | None  # 1-based PDF page; None for text files
    score: float | None  # fused relevance in [0, 1], higher is better (see Retriever.search); None for a chunk
                         # not retrieved but added to complete its section (Retriever.sections)
    chunk_id: str
    dense: float | None = None    # cosine similarity of the question and the chunk, before fusion
    lexical: float | None = None  # BM25 score of the chunk for the question, before fusion
    section: str = ""             # the heading it is under (dllab.rag.structure)
    section_id: int = -1          # that section's order in its file
    role: str = "text"            # steps, list, faq or text


class Retriever:
    """An opened index: the Chroma collection, its embedding model and a BM25 index of the same chunks."""

    def __init__(self, collection, model, lexical_weight: float, cleanup=None,
                 sentence_vectors: dict[str, np.ndarray] | None = None, reopen=None):
        """``reopen``: for an index on a server, a callable giving the current (collection, sentence vectors)
        again, called when the version in use was deleted by a newer build."""
        self.model = model
        self.lexical_weight = lexical_weight
        self._lock = threading.Lock()  # the chat service may call from several threads
        self._recent_queries: dict[str, np.ndarray] = {}
        self._reopen = reopen
        self._load(collection, sentence_vectors)
        self._finalizer = weakref.finalize(self, cleanup) if cleanup else None

    def _load(self, collection, sentence_vectors: dict[str, np.ndarray] | None) -> None:
        stored = collection.get(include=["documents", "metadatas"])
        self.collection = collection
        self.ids: list[str] = stored["ids"]
        self.texts: list[str] = stored["documents"]
        self.metadatas: list[dict] = stored["metadatas"]
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        self.lexical = BM25(self.texts)
        self._sentence_vectors = dict(sentence_vectors or {})  # unit text -> vector (sentences.npz)
        self._sections = None

    @classmethod
    def open(cls, index_dir: str | Path = DEFAULT_INDEX) -> "Retriever":
        """Open the index built by ``dvc repro rag_index`` with the embedding model recorded in it."""
        from chromadb.errors import NotFoundError

        from dllab.rag.embeddings import load_model
        from dllab.rag.sentences import load_vectors

        index_dir = Path(index_dir)
        manifest = read_manifest(index_dir)
        if manifest is not None:
            return cls._open_on_server(manifest["chroma_url"])
        missing = UserError(f"{index_dir}: no knowledge-base index there; build it with `dvc repro rag_index`")
        if not (index_dir / "chroma.sqlite3").is_file():
            raise missing
        remove_orphan_copies()
        copy = Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-"))
        shutil.copytree(index_dir, copy, dirs_exist_ok=True)
        client = open_client(copy)

        def cleanup():
            client.close()
            shutil.rmtree(copy, ignore_errors=True)

        try:
            collection = client.get_collection(COLLECTION, embedding_function=None)
            meta = collection.metadata or {}
            if meta.get("state") != "ready":
                raise UserError(f"{index_dir}: the index is incomplete (an interrupted build?); "
                                "rerun `dvc repro rag_index`")
            model = load_model(meta["embedding_model"])
            return cls(collection, model, float(meta.get("lexical_weight", 0.5)), cleanup, load_vectors(copy))
        except NotFoundError:
            cleanup()
            raise missing from None
        except BaseException:
            cleanup()
            raise

    @classmethod
    def _open_on_server(cls, url: str) -> "Retriever":
        from dllab.rag.embeddings import load_model
        from dllab.rag.server import connect, open_current

        client = connect(url)
        reopen = lambda: open_current(client)  # noqa: E731
        collection, vectors = reopen()
        meta = collection.metadata or {}
        if meta.get("state") != "ready":
            raise UserError(f"rag.chroma_url {url}: the index there is incomplete; rerun `dvc repro rag_index`")
        return cls(collection, load_model(meta["embedding_model"]), float(meta.get("lexical_weight", 0.5)),
                   sentence_vectors=vectors, reopen=reopen)

    def close(self) -> None:
        if self._finalizer:
            self._finalizer()

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, question: str, k: int = 4, lexical_weight: float | None = None) -> list[Hit]:
        """The ``k`` most relevant chunks for ``question``, best first."""
        if not question.strip() or not self.ids:
            return []
        weight = self.lexical_weight if lexical_weight is None else lexical_weight
        with self._lock:
            query = self._query_vector(question)  # (dimension,)
            dense = self._dense_candidates(query, max(CANDIDATES, k))
            if dense is None:  # the server's version was replaced and deleted: read the current one
                self._load(*self._reopen())
                dense = self._dense_candidates(query, max(CANDIDATES, k))
            lexical = self.lexical.scores(question)  # (n_chunks,)
            ranked = np.argsort(-lexical)[:max(CANDIDATES, k)]
            candidates = sorted(set(dense) | {int(i) for i in ranked if lexical[i] > 0})
            dense.update(self._cosines(query, [i for i in candidates if i not in dense]))
        # Cosines and BM25 live on different scales (E5's cosines sit between 0.7 and 0.95): each is rescaled
        # to [0, 1] over the candidates before mixing, so lexical_weight means what it says.
        fused = ((1 - weight) * _min_max(np.array([dense[i] for i in candidates]))
                 + weight * _min_max(lexical[candidates]))  # (n_candidates,)
        scores = dict(zip(candidates, fused.tolist()))
        best = sorted(scores, key=lambda i: (-scores[i], i))[:k]
        return [self._hit(i, scores[i], dense[i], float(lexical[i])) for i in best]

    def _query_vector(self, question: str) -> np.ndarray:
        """The question's embedding; recent ones are kept, as chat users and evaluations repeat questions."""
        from dllab.rag.embeddings import embed_query

        if question not in self._recent_queries:
            if len(self._recent_queries) >= RECENT_QUERIES:
                self._recent_queries.pop(next(iter(self._recent_queries)))  # the oldest
            self._recent_queries[question] = embed_query(self.model, question)
        return self._recent_queries[question]

    def sentence_cosines(self, question: str, sentences: list[str]) -> np.ndarray:
        """Cosine similarity of the question with each sentence, shape (len(sentences),).

        The index stores every sentence's vector (``rag_index``); one it lacks is embedded here and kept.
        """
        from dllab.rag.embeddings import embed

        with self._lock:
            query = self._query_vector(question)
            missing = list(dict.fromkeys(s for s in sentences if s not in self._sentence_vectors))
            computed = dict(zip(missing, embed(self.model, missing))) if missing else {}
            if len(self._sentence_vectors) + len(computed) <= SENTENCE_VECTORS:
                self._sentence_vectors.update(computed)
            vectors = np.stack([self._sentence_vectors.get(s, computed.get(s)) for s in sentences])  # (n, dim)
        return vectors @ query

    def _dense_candidates(self, query: np.ndarray, n: int) -> dict[int, float] | None:
        """Index of chunk → cosine similarity, for the ``n`` nearest chunks; None if the server's version in
        use was deleted (a newer build replaced it)."""
        from chromadb.errors import NotFoundError

        try:
            found = self.collection.query(query_embeddings=[query], n_results=min(n, len(self.ids)),
                                          include=["distances"])
        except NotFoundError:
            if self._reopen is None:
                raise
            return None
        return {self.position[i]: 1.0 - d for i, d in zip(found["ids"][0], found["distances"][0])}

    def _cosines(self, query: np.ndarray, indices: list[int]) -> dict[int, float]:
        if not indices:
            return {}
        stored = self.collection.get(ids=[self.ids[i] for i in indices], include=["embeddings"])
        vectors = np.asarray(stored["embeddings"], dtype=np.float32)  # (n, dimension), unit length
        return {self.position[chunk_id]: float(cosine) for chunk_id, cosine in zip(stored["ids"], vectors @ query)}

    def sections(self) -> dict[tuple[str, int], list[Hit]]:
        """Every section of the index (file, section id) with its chunks in reading order (scores None).

        An index built before sections were recorded has none: {}."""
        if self._sections is None:
            grouped: dict[tuple[str, int], list[int]] = {}
            for i, meta in enumerate(self.metadatas):
                if "section_id" in meta:
                    grouped.setdefault((meta["file"], meta["section_id"]), []).append(i)
            self._sections = {key: [self._hit(i, None, None, None) for i in sorted(found, key=lambda i:
                                                                                self.metadatas[i]["position"])]
                              for key, found in grouped.items()}
        return self._sections

    def _hit(self, i: int, score: float | None, dense: float | None, lexical: float | None) -> Hit:
        meta = self.metadatas[i]
        rounded = lambda value: None if value is None else round(value, 4)  # noqa: E731
        return Hit(self.texts[i], meta["file"], meta["page"] or None, rounded(score), self.ids[i],
                   rounded(dense), rounded(lexical), meta.get("section", ""), meta.get("section_id", -1),
                   meta.get("role", "text"))


def _min_max(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values, dtype=np.float64)


def remove_orphan_copies(folder: str | Path | None = None) -> list[Path]:
    """Delete the index copies in the temporary folder whose process no longer exists; return them."""
    removed = []
    for copy in Path(folder or tempfile.gettempdir()).glob(f"{COPY_PREFIX}*"):
        owner = _COPY_NAME.fullmatch(copy.name)
        if copy.is_dir() and owner and not _process_exists(int(owner.group(1))):
            shutil.rmtree(copy, ignore_errors=True)
            removed.append(copy)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_OPENED: dict[str, Retriever] = {}


def search(question: str, k: int = 4, index_dir: str | Path = DEFAULT_INDEX) -> list[Hit]:
    """``Retriever.open(index_dir).search(question, k)``, opening each index once per process."""
    key = str(Path(index_dir).resolve())
    if key not in _OPENED:
        _OPENED[key] = Retriever.open(index_dir)
    return _OPENED[key].search(question, k)
