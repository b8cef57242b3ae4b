"""Building and updating the persistent ChromaDB index of the knowledge base.

The collection records the embedding model, its dimension and the chunking params; when any of them
changes the collection is rebuilt from scratch. Otherwise only files whose bytes changed are re-read, and
only their chunks whose text changed are embedded again (ids come from the chunk text, so an edit to one
paragraph re-embeds one or two chunks). Every chunk stores its file's hash and chunk count, so a file
whose update was interrupted is detected and redone on the next run.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from dllab.errors import DataError
from dllab.rag.chunking import Chunk, check_sizes, chunk_document
from dllab.rag.config import DEFAULTS
from dllab.rag.documents import DocumentProblem, list_files, load_document

log = logging.getLogger(__name__)

COLLECTION = "knowledge_base"
CHUNKER_VERSION = 1  # bump when chunking.py changes its output: existing indexes are then rebuilt
REBUILD_KEYS = ("embedding_model", "dimension", "chunk_size", "chunk_overlap", "chunker_version")
NO_TEXT_KINDS = ("no_text", "empty")


@dataclass
class Indexed:
    """What the index holds for one file."""

    ids: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)
    expected: int = 0  # chunk count written with the file: fewer ids means an interrupted update
    pages: int = 0


@dataclass
class Plan:
    unchanged: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, int, list[Chunk]]] = field(default_factory=list)  # file, hash, pages, chunks
    problems: list[DocumentProblem] = field(default_factory=list)
    problem_files: list[str] = field(default_factory=list)


def build_index(docs_dir: str | Path, index_dir: str | Path, params: dict) -> dict:
    """Build the index of ``docs_dir`` in ``index_dir``, or bring an existing one up to date; return stats.

    ``params`` holds keys of the ``rag`` section (missing ones take ``config.DEFAULTS``).
    """
    params = {**DEFAULTS, **params}
    check_sizes(params["chunk_size"], params["chunk_overlap"])
    started = time.perf_counter()
    root = Path(docs_dir)
    files = list_files(root)
    if not files:
        raise DataError(f"{root}: no .txt, .md or .pdf files to index; put documents there or change rag.docs_dir")
    import chromadb

    Path(index_dir).mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(path=str(index_dir))
    try:
        stats = _update(client, root, files, params)
    finally:
        client.close()
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return stats


def _update(client, root: Path, files: list[Path], params: dict, force_rebuild: str | None = None) -> dict:
    from dllab.rag.embeddings import dimension, load_model

    collection, rebuilt = _open_collection(client, params, force_rebuild)
    indexed = _indexed_files(collection)
    plan = _plan(root, files, indexed, params)
    for problem in plan.problems:
        log.warning("%s", problem)
    if params["strict"] and plan.problems:
        raise DataError("; ".join(map(str, plan.problems)) + " (rag.strict is true: fix or remove these files, "
                        "or set rag.strict: false to skip them)")

    known = {chunk_id for entry in indexed.values() for chunk_id in entry.ids}
    new = [c for _, _, _, chunks in plan.changed for c in chunks if c.chunk_id not in known]
    embedding_seconds = 0.0
    if new:
        model = load_model(params["embedding_model"])
        if dimension(model) != collection.metadata["dimension"]:
            return _update(client, root, files, params,
                           f"{params['embedding_model']} now gives {dimension(model)}-dim vectors")
        from dllab.rag.embeddings import embed

        log.info("embedding %d new chunk(s) with %s", len(new), params["embedding_model"])
        start = time.perf_counter()
        vectors = embed(model, [c.text for c in new], params["batch_size"], progress=True)
        embedding_seconds = time.perf_counter() - start
        _add(client, collection, new, vectors, plan)

    removed = _remove_stale(collection, plan, indexed)
    collection.modify(metadata={**collection.metadata, "state": "ready", "lexical_weight": params["lexical_weight"]})
    skipped = [{"file": f, "kind": p.kind, "reason": str(p)} for f, p in zip(plan.problem_files, plan.problems)]
    indexed_now = _indexed_files(collection)
    return {
        "files": len(files),
        "files_indexed": len(indexed_now),
        "pages": sum(i.pages for i in indexed_now.values()),
        "chunks": collection.count(),
        "files_without_text": sum(p.kind in NO_TEXT_KINDS for p in plan.problems),
        "files_skipped": len(skipped),
        "skipped": skipped,
        "files_unchanged": len(plan.unchanged),
        "files_added": sum(f not in indexed for f, *_ in plan.changed),
        "files_updated": sum(f in indexed for f, *_ in plan.changed),
        "files_removed": removed["files"],
        "chunks_added": len(new),
        "chunks_removed": removed["chunks"],
        "rebuilt": rebuilt,
        "embedding_model": params["embedding_model"],
        "dimension": collection.metadata["dimension"],
        "embedding_seconds": round(embedding_seconds, 3),
        "chunks_per_second": round(len(new) / embedding_seconds, 1) if embedding_seconds else None,
    }


def _open_collection(client, params: dict, force_rebuild: str | None):
    """The collection, recreated when the embedder or chunking differs; returns (collection, why rebuilt)."""
    from chromadb.errors import NotFoundError

    wanted = {"embedding_model": params["embedding_model"], "chunk_size": params["chunk_size"],
              "chunk_overlap": params["chunk_overlap"], "chunker_version": CHUNKER_VERSION}
    try:
        collection = client.get_collection(COLLECTION)
    except NotFoundError:
        collection, reason = None, None
    else:
        old = collection.metadata or {}
        changed = [k for k in wanted if old.get(k) != wanted[k]]
        reason = force_rebuild or (
            "; ".join(f"{k} {old.get(k)!r} → {wanted[k]!r}" for k in changed) if changed else None)
        if reason is None:
            return collection, None
        log.info("rebuilding the index: %s", reason)
        client.delete_collection(COLLECTION)
    from dllab.rag.embeddings import dimension, load_model

    wanted["dimension"] = dimension(load_model(params["embedding_model"]))
    collection = client.create_collection(COLLECTION, configuration={"hnsw": {"space": "cosine"}},
                                          metadata={**wanted, "state": "building"}, embedding_function=None)
    return collection, reason


def _indexed_files(collection) -> dict[str, Indexed]:
    files: dict[str, Indexed] = {}
    stored = collection.get(include=["metadatas"])
    for chunk_id, meta in zip(stored["ids"], stored["metadatas"]):
        entry = files.setdefault(meta["file"], Indexed())
        entry.ids.append(chunk_id)
        entry.hashes.add(meta["file_hash"])
        entry.expected, entry.pages = meta["file_chunks"], meta["file_pages"]
    return files


def _plan(root: Path, files: list[Path], indexed: dict[str, Indexed], params: dict) -> Plan:
    """Sort files into unchanged, changed (read and chunked) and problems; identical copies are problems."""
    import hashlib

    plan = Plan()
    names = [path.relative_to(root).as_posix() for path in files]
    digests, blank = [], set()
    for name, path in zip(names, files):
        data = path.read_bytes()
        digests.append(hashlib.sha256(data).hexdigest())
        if not data.strip():
            blank.add(name)  # reported as empty below, not as a copy of another empty file

    def already_indexed(name: str, digest: str) -> bool:
        return indexed.get(name, Indexed()).hashes == {digest}

    # Of identical files, keep the one already indexed (nothing to embed), else the first by name.
    keeper: dict[str, str] = {}
    for name, digest in sorted(zip(names, digests), key=lambda nd: (not already_indexed(*nd), nd[0])):
        keeper.setdefault(digest, name)
    for path, name, digest in zip(files, names, digests):
        if keeper[digest] != name and name not in blank:
            plan.problems.append(DocumentProblem(f"{name}: same content as {keeper[digest]}; skipped "
                                                 "(remove one of the copies)", "duplicate"))
            plan.problem_files.append(name)
            continue
        have = indexed.get(name)
        if already_indexed(name, digest) and len(have.ids) == have.expected:
            plan.unchanged.append(name)
            continue
        try:
            doc = load_document(path, root)
        except DocumentProblem as problem:
            plan.problems.append(problem)
            plan.problem_files.append(name)
            continue
        for warning in doc.warnings:
            log.warning("%s", warning)
        chunks = chunk_document(doc, params["chunk_size"], params["chunk_overlap"])
        plan.changed.append((name, digest, len(doc.pages), chunks))
    return plan


def _metadata(chunk: Chunk, digest: str, pages: int, total: int) -> dict:
    # Chroma metadata cannot hold None: page 0 means "no page" (text files).
    return {"file": chunk.file, "page": chunk.page or 0, "position": chunk.position, "file_hash": digest,
            "file_pages": pages, "file_chunks": total}


def _add(client, collection, new: list[Chunk], vectors, plan: Plan) -> None:
    """Write the new chunks, and refresh position and file hash of the kept chunks of changed files."""
    info = {file: (digest, pages, chunks) for file, digest, pages, chunks in plan.changed}
    metas = [_metadata(c, info[c.file][0], info[c.file][1], len(info[c.file][2])) for c in new]
    step = client.get_max_batch_size()
    for i in range(0, len(new), step):
        collection.add(ids=[c.chunk_id for c in new[i:i + step]], embeddings=vectors[i:i + step],
                       documents=[c.text for c in new[i:i + step]], metadatas=metas[i:i + step])
    new_ids = {c.chunk_id for c in new}
    kept = [(c, info[c.file]) for _, _, _, chunks in plan.changed for c in chunks if c.chunk_id not in new_ids]
    for i in range(0, len(kept), step):
        part = kept[i:i + step]
        collection.update(ids=[c.chunk_id for c, _ in part],
                          metadatas=[_metadata(c, digest, pages, len(chunks)) for c, (digest, pages, chunks) in part])


def _remove_stale(collection, plan: Plan, indexed: dict[str, Indexed]) -> dict:
    """Delete chunks no file has any more; a file that failed to read keeps its chunks from the last run."""
    current = {c.chunk_id for _, _, _, chunks in plan.changed for c in chunks}
    keep_files = set(plan.unchanged) | {f for f, p in zip(plan.problem_files, plan.problems) if p.kind != "duplicate"}
    changed_files = {f for f, *_ in plan.changed}
    stale, gone_files = [], 0
    for file, entry in indexed.items():
        if file in keep_files:
            continue
        stale += [i for i in entry.ids if i not in current]
        gone_files += file not in changed_files
    if stale:
        collection.delete(ids=stale)
    return {"files": gone_files, "chunks": len(stale)}
