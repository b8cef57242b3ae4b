"""Building and updating the persistent ChromaDB index of the knowledge base.

The collection records the embedding model, its dimension, the chunking params and a fingerprint of what
else shapes its chunks and vectors (the source of the modules that read, chunk and embed, and the versions
of the packages they call); when any of them changes the collection is rebuilt from scratch. Otherwise only files whose bytes changed are re-read, and
only their chunks whose text changed are embedded again (ids come from the chunk text, so an edit to one
paragraph re-embeds one or two chunks). Every chunk stores its file's hash and chunk count, so a file
whose update was interrupted is detected and redone on the next run.

Every run works on a copy of the index folder beside it and swaps it in atomically when done
(``dllab.files.atomic_dir``): a process killed at any moment leaves the previous index whole and loadable.
With ``rag.chroma_url`` the index lives on a Chroma server instead (``dllab.rag.server``): the same update
runs on a copy made there, under a new versioned name, which a pointer record then names in one step.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from dllab.errors import DataError
from dllab.files import atomic_dir
from dllab.rag.chunking import Chunk, chunk_document
from dllab.rag.config import RagParams
from dllab.rag.documents import DocumentProblem, list_files, load_document
from dllab.rag.store import FolderStore, mark_ready

log = logging.getLogger(__name__)

# What shapes the stored chunks and vectors besides the params: these modules' source and these packages.
FINGERPRINT_MODULES = ("documents.py", "structure.py", "chunking.py", "sentences.py", "embeddings.py", "index.py",
                       "store.py")
# What stores and reads the text whatever the embedder; the embedder's own packages come from its registry.
FINGERPRINT_PACKAGES = ("chromadb", "pypdf")
NO_TEXT_KINDS = ("no_text", "empty")


@dataclass
class Indexed:
    """What the index holds for one file."""

    ids: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)
    expected: int = 0  # chunk count written with the file: fewer ids means an interrupted update
    pages: int = 0


@dataclass
class Changed:
    """A new or edited file, read and chunked."""

    file: str
    digest: str  # sha256 of its bytes
    pages: int
    chunks: list[Chunk]

    def metadata(self, chunk: Chunk) -> dict:
        # Chroma metadata cannot hold None: page 0 means "no page" (text files).
        return {"file": self.file, "page": chunk.page or 0, "position": chunk.position, "file_hash": self.digest,
                "file_pages": self.pages, "file_chunks": len(self.chunks), "section": chunk.section,
                "section_id": chunk.section_id, "role": chunk.role}


@dataclass
class IndexUpdate:
    """What one run will do to the index: the files to keep, to read again, and those that cannot be read."""

    unchanged: list[str] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    problems: list[DocumentProblem] = field(default_factory=list)
    problem_files: list[str] = field(default_factory=list)


def build_index(docs_dir: str | Path, index_dir: str | Path, params: RagParams) -> dict:
    """Build the index of ``docs_dir`` in ``index_dir``, or bring an existing one up to date; return stats
    (their ``timing`` entry holds the times, which vary between runs)."""
    started = time.perf_counter()
    root = Path(docs_dir)
    files = list_files(root, params.params_file)
    if not files:
        raise DataError(f"{root}: no .txt, .md or .pdf files to index; put documents there or change rag.docs_dir "
                        f"in {params.params_file}")
    if params.chroma_url:
        from dllab.rag.server import build_on_server

        stats = build_on_server(params.chroma_url, index_dir, lambda store: _update(store, root, files, params))
    else:
        with atomic_dir(index_dir, start_from_current=True) as work:  # swapped in only once finished
            store = FolderStore(work)
            try:
                stats = _update(store, root, files, params)
            finally:
                store.close()
            log.info("working copy complete; swapping it in for %s", index_dir)
    stats["timing"]["index_seconds"] = round(time.perf_counter() - started, 3)
    return stats


def code_fingerprint(embedding_model: str) -> str:
    """sha256 of the reading, chunking and embedding code and of the versions of the packages it calls, the
    embedding model's own (``dllab.rag.embeddings.packages``) included."""
    from importlib.metadata import PackageNotFoundError, version

    from dllab.rag.embeddings import packages

    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in FINGERPRINT_MODULES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    for package in (*FINGERPRINT_PACKAGES, *packages(embedding_model)):
        try:
            digest.update(f"{package}=={version(package)}\0".encode())
        except PackageNotFoundError:
            digest.update(f"{package} absent\0".encode())
    return digest.hexdigest()[:16]


def _update(store, root: Path, files: list[Path], params: RagParams, force_rebuild: str | None = None) -> dict:
    """Bring the index in ``store`` (a ``FolderStore`` or a ``ServerStore``) up to date with ``files``."""
    from dllab.rag.embeddings import dimension, embed, load_model

    client = store.client
    existing = store.existing()
    rebuilt = force_rebuild or _rebuild_reason(existing, params)
    indexed = _indexed_files(existing) if existing is not None and not rebuilt else {}
    plan = _plan(root, files, indexed, params)
    for problem in plan.problems:
        log.warning("%s", problem)
    if params.strict and plan.problems:  # before anything in the index is touched
        raise DataError("; ".join(map(str, plan.problems)) + " (rag.strict is true: fix or remove these files, "
                        "or set rag.strict: false to skip them)")
    collection = existing if existing is not None and not rebuilt else _new_collection(store, params, existing, rebuilt)

    known = {chunk_id for entry in indexed.values() for chunk_id in entry.ids}
    new = [c for changed in plan.changed for c in changed.chunks if c.chunk_id not in known]
    embedding_seconds = 0.0
    if new:
        model = load_model(params.embedding_model)
        if dimension(model) != collection.metadata["dimension"]:  # same name, other model files
            return _update(store, root, files, params,
                           f"{params.embedding_model} now gives {dimension(model)}-dim vectors")
        log.info("embedding %d new chunk(s) with %s", len(new), params.embedding_model)
        start = time.perf_counter()
        vectors = embed(model, [c.text for c in new], params.batch_size, progress=True)
        embedding_seconds = time.perf_counter() - start
        add_chunks(client, collection, new, vectors, plan.changed)
        log.info("added %d chunk(s) to the working copy", len(new))
    _refresh_kept(client, collection, plan, known)
    removed = _remove_stale(collection, plan, indexed)
    sentences = store.update_vectors(collection.get(include=["documents"])["documents"],
                                     lambda: load_model(params.embedding_model), params.batch_size)
    mark_ready(collection, params.lexical_weight)
    return {
        **sentences,
        **_summary(collection, files, plan, indexed),
        "files_removed": removed["files"],
        "chunks_added": len(new),
        "chunks_removed": removed["chunks"],
        "rebuilt": rebuilt,
        "embedding_model": params.embedding_model,
        "dimension": collection.metadata["dimension"],
        "timing": {"embedding_seconds": round(embedding_seconds, 3),
                   "chunks_per_second": round(len(new) / embedding_seconds, 1) if embedding_seconds else None},
    }


def _summary(collection, files: list[Path], plan: IndexUpdate, indexed: dict[str, Indexed]) -> dict:
    """Counts of files, pages and chunks after an update."""
    skipped = [{"file": f, "kind": p.kind, "reason": str(p)} for f, p in zip(plan.problem_files, plan.problems)]
    now = _indexed_files(collection)
    return {
        "files": len(files),
        "files_indexed": len(now),
        "pages": sum(entry.pages for entry in now.values()),
        "chunks": collection.count(),
        "files_without_text": sum(p.kind in NO_TEXT_KINDS for p in plan.problems),
        "files_skipped": len(skipped),
        "skipped": skipped,
        "files_unchanged": len(plan.unchanged),
        "files_added": sum(c.file not in indexed for c in plan.changed),
        "files_updated": sum(c.file in indexed for c in plan.changed),
    }


def _wanted(params: RagParams) -> dict:
    """The collection metadata that must match for the stored vectors and chunks to be reused."""
    return {"embedding_model": params.embedding_model, "chunk_size": params.chunk_size,
            "chunk_overlap": params.chunk_overlap, "code_fingerprint": code_fingerprint(params.embedding_model)}


def _rebuild_reason(collection, params: RagParams) -> str | None:
    if collection is None:
        return None
    old, wanted = collection.metadata or {}, _wanted(params)
    changed = [k for k in wanted if old.get(k) != wanted[k]]
    return "; ".join(f"{k} {old.get(k)!r} → {wanted[k]!r}" for k in changed) or None


def _new_collection(store, params: RagParams, existing, rebuilt: str | None):
    from dllab.rag.embeddings import dimension, load_model

    if rebuilt:
        log.info("rebuilding the index: %s", rebuilt)
    metadata = {**_wanted(params), "dimension": dimension(load_model(params.embedding_model))}
    return store.create(metadata, replace=existing is not None)


def _indexed_files(collection) -> dict[str, Indexed]:
    files: dict[str, Indexed] = {}
    stored = collection.get(include=["metadatas"])
    for chunk_id, meta in zip(stored["ids"], stored["metadatas"]):
        entry = files.setdefault(meta["file"], Indexed())
        entry.ids.append(chunk_id)
        entry.hashes.add(meta["file_hash"])
        entry.expected, entry.pages = meta["file_chunks"], meta["file_pages"]
    return files


def _plan(root: Path, files: list[Path], indexed: dict[str, Indexed], params: RagParams) -> IndexUpdate:
    """Sort files into unchanged, changed (read and chunked) and problems; identical copies are problems."""
    import hashlib

    plan = IndexUpdate()
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
        chunks = chunk_document(doc, params.chunk_size, params.chunk_overlap)
        plan.changed.append(Changed(name, digest, len(doc.pages), chunks))
    return plan


def add_chunks(client, collection, new: list[Chunk], vectors, files: list[Changed]) -> None:
    """Write new chunks of ``files`` with their vectors (shape (len(new), dimension)), in batches."""
    by_file = {changed.file: changed for changed in files}
    step = client.get_max_batch_size()
    for i in range(0, len(new), step):
        part = new[i:i + step]
        collection.add(ids=[c.chunk_id for c in part], embeddings=vectors[i:i + step],
                       documents=[c.text for c in part], metadatas=[by_file[c.file].metadata(c) for c in part])


def _refresh_kept(client, collection, plan: IndexUpdate, known: set[str]) -> None:
    """Chunks of a changed file that kept their text keep their vector; their position and file hash move on."""
    kept = [(changed, c) for changed in plan.changed for c in changed.chunks if c.chunk_id in known]
    step = client.get_max_batch_size()
    for i in range(0, len(kept), step):
        part = kept[i:i + step]
        collection.update(ids=[c.chunk_id for _, c in part], metadatas=[changed.metadata(c) for changed, c in part])


def _remove_stale(collection, plan: IndexUpdate, indexed: dict[str, Indexed]) -> dict:
    """Delete chunks no file has any more; a file that failed to read keeps its chunks from the last run."""
    current = {c.chunk_id for changed in plan.changed for c in changed.chunks}
    keep_files = set(plan.unchanged) | {f for f, p in zip(plan.problem_files, plan.problems) if p.kind != "duplicate"}
    changed_files = {changed.file for changed in plan.changed}
    stale, gone_files = [], 0
    for file, entry in indexed.items():
        if file in keep_files:
            continue
        stale += [i for i in entry.ids if i not in current]
        gone_files += file not in changed_files
    if stale:
        collection.delete(ids=stale)
    return {"files": gone_files, "chunks": len(stale)}
