"""The knowledge base on a Chroma server (``rag.chroma_url``, e.g. ``http://127.0.0.1:8001`` for ``chroma run``).

Chroma has no transactions across calls and no collection aliases, so the folder's atomic swap becomes a
pointer swap:
- the chunks live in a versioned collection, ``knowledge_base-v<time ns>``, and its sentence vectors in
  ``knowledge_base-v<time ns>-sentences`` (the folder keeps them in ``sentences.npz``);
- the collection named ``knowledge_base`` holds no record: its metadata ``current`` names the version in use,
  and is changed in one request (one SQLite update on the server), so readers see the old index or the new;
- a build copies the current version's records into a new version (no embedding: the vectors are copied),
  runs the same incremental update as the folder on it, marks it ready, then moves the pointer. Versions
  older than the previous one are deleted then (the previous one stays for readers that still have it open;
  a reader whose version is gone follows the pointer again); a build killed before the pointer moved
  leaves a version nobody names, deleted by the next build.
One build at a time per server (as DVC runs one ``rag_index``). The fingerprint of the chunking and embedding
code is checked against the version's metadata exactly as in the folder: this client's code and packages
shape the vectors; the server's own version only stores them.

The server's data is not a DVC output: ``rag_index``'s output folder then holds ``manifest.json`` (the URL,
the version it built, its counts), which readers (``dllab.rag.search.Retriever.open``) follow to the server.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import numpy as np

from dllab.errors import DataError, UserError
from dllab.files import atomic_dir, write_json
from dllab.rag.store import COLLECTION, create_collection

log = logging.getLogger("rag.server")

MANIFEST = "manifest.json"
SENTENCES = "-sentences"
VERSION = "-v"


def connect(url: str):
    """A Chroma HTTP client for ``url`` (``http(s)://HOST:PORT``); UserError naming rag.chroma_url if none answers."""
    import chromadb
    from chromadb.config import Settings

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
        raise UserError(f"rag.chroma_url = {url!r}: expected http://HOST:PORT (a Chroma server, `chroma run`), "
                        "or '' for the embedded index folder")
    try:
        return chromadb.HttpClient(host=parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 80),
                                   ssl=parts.scheme == "https", settings=Settings(anonymized_telemetry=False))
    except Exception as exc:  # chromadb raises ValueError, httpx errors... when nothing answers
        raise UserError(f"rag.chroma_url = {url!r}: no Chroma server answers there ({exc.__class__.__name__}); "
                        "start one with `chroma run --path DIR --port PORT`") from None


def build_on_server(url: str, index_dir: str | Path, update: Callable) -> dict:
    """Run ``update(store)`` on a new version of the server's index, switch the pointer to it, and write the
    manifest into ``index_dir`` (replacing whatever was there, e.g. an embedded index)."""
    client = connect(url)
    store = ServerStore(client)
    try:
        stats = update(store)
        store.commit()
    except BaseException:
        store.abort()
        raise
    with atomic_dir(index_dir) as work:
        write_json(Path(work) / MANIFEST, {"chroma_url": url, "collection": store.version, "chunks": stats["chunks"],
                                           "sentences": stats["sentences"],
                                           "embedding_model": stats["embedding_model"]})
    log.info("the server's index is now %s; manifest in %s", store.version, index_dir)
    return stats


class ServerStore:
    """One build's new version on the server; the same interface as ``dllab.rag.store.FolderStore``."""

    def __init__(self, client):
        self.client = client
        self.pointer = client.get_or_create_collection(COLLECTION, metadata={"current": ""}, embedding_function=None)
        self.current = current_version(client, self.pointer)
        self.version = f"{COLLECTION}{VERSION}{time.time_ns()}"
        self._work = None
        self._fresh_vectors = False

    def existing(self):
        """The new version as a copy of the current one (made on first call), or None if there is none."""
        if self._work is None and self.current:
            log.info("copying %s to %s", self.current, self.version)
            self._work = _copy(self.client, self.current, self.version)
        return self._work

    def create(self, metadata: dict, replace: bool):
        if replace:  # a rebuild: nothing of the current version is reused
            self.client.delete_collection(self.version)
            self._fresh_vectors = True
        self._work = create_collection(self.client, metadata, name=self.version)
        return self._work

    def update_vectors(self, chunk_texts: list[str], model_loader, batch_size: int) -> dict:
        from dllab.rag.sentences import refresh_vectors

        previous = {} if self._fresh_vectors or not self.current else load_sentences(self.client, self.current)
        units, vectors, stats = refresh_vectors(previous, chunk_texts, model_loader, batch_size)
        sentences = self.client.create_collection(self.version + SENTENCES, embedding_function=None)
        step = self.client.get_max_batch_size()
        for i in range(0, len(units), step):
            sentences.add(ids=[str(n) for n in range(i, i + len(units[i:i + step]))], documents=units[i:i + step],
                          embeddings=vectors[i:i + step])
        return stats

    def commit(self) -> None:
        """Point readers at the new version (one request), then delete versions older than the previous one."""
        self.pointer.modify(metadata={"current": self.version})
        keep = {self.version, self.current}
        for name in _versions(self.client):
            if name not in keep:
                log.info("deleting the old version %s", name)
                _drop(self.client, name)

    def abort(self) -> None:
        try:
            _drop(self.client, self.version)
        except Exception:  # the server is gone too: the next build deletes this version
            log.warning("could not delete the unfinished version %s", self.version)


def current_version(client, pointer=None) -> str | None:
    """The name of the version the pointer names, if it exists."""
    from chromadb.errors import NotFoundError

    try:
        pointer = pointer or client.get_collection(COLLECTION, embedding_function=None)
    except NotFoundError:
        return None
    name = (pointer.metadata or {}).get("current") or None
    return name if name in _versions(client) else None


def read_manifest(index_dir: str | Path) -> dict | None:
    """The manifest of an index built on a server, or None for an embedded index folder."""
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return {"chroma_url": str(manifest["chroma_url"]), **manifest}
    except (ValueError, KeyError, TypeError):
        raise DataError(f"{path}: not a valid index manifest; rebuild it with `dvc repro rag_index`") from None


def open_current(client) -> tuple[object, dict[str, np.ndarray]]:
    """The collection the pointer names and its sentence vectors; UserError if there is none."""
    name = current_version(client)
    if name is None:
        raise UserError("the Chroma server holds no knowledge-base index; build it with `dvc repro rag_index`")
    return client.get_collection(name, embedding_function=None), load_sentences(client, name)


def load_sentences(client, version: str) -> dict[str, np.ndarray]:
    """The unit → vector table stored beside ``version`` ({} if it has none)."""
    from chromadb.errors import NotFoundError

    try:
        collection = client.get_collection(version + SENTENCES, embedding_function=None)
    except NotFoundError:
        return {}
    table = {}
    for batch in _batches(client, collection, ["documents", "embeddings"]):
        table.update(zip(batch["documents"], np.asarray(batch["embeddings"], dtype=np.float32)))
    return table


def _versions(client) -> list[str]:
    prefix = COLLECTION + VERSION
    return [c.name for c in client.list_collections() if c.name.startswith(prefix) and not c.name.endswith(SENTENCES)]


def _copy(client, source: str, dest: str):
    """A new collection ``dest`` with the configuration, metadata and every record of ``source``."""
    original = client.get_collection(source, embedding_function=None)
    copy = create_collection(client, {**original.metadata, "state": "building"}, name=dest)
    for batch in _batches(client, original, ["documents", "embeddings", "metadatas"]):
        copy.add(ids=batch["ids"], documents=batch["documents"], embeddings=batch["embeddings"],
                 metadatas=batch["metadatas"])
    return copy


def _batches(client, collection, include: list[str]):
    step, offset = client.get_max_batch_size(), 0
    while True:
        batch = collection.get(include=include, limit=step, offset=offset)
        if not batch["ids"]:
            return
        yield batch
        offset += len(batch["ids"])


def _drop(client, version: str) -> None:
    from chromadb.errors import NotFoundError

    for name in (version, version + SENTENCES):
        try:
            client.delete_collection(name)
        except NotFoundError:
            pass
