"""Where the knowledge base's collection lives: its name, how it is created and marked ready, and the embedded
store (a Chroma folder with the sentence vectors beside it). ``dllab.rag.server.ServerStore`` is the same
interface for a Chroma server; ``dllab.rag.index`` builds into either.
"""
from __future__ import annotations

from pathlib import Path

COLLECTION = "knowledge_base"


def open_client(index_dir: str | Path):
    """A Chroma client on ``index_dir``, without usage telemetry (it would try the network)."""
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(index_dir), settings=Settings(anonymized_telemetry=False))


def existing_collection(client):
    """The knowledge-base collection of ``client``, or None when it has none."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(COLLECTION, embedding_function=None)
    except NotFoundError:
        return None


def create_collection(client, metadata: dict, name: str = COLLECTION):
    """An empty collection for cosine search; ``state`` becomes 'ready' once its build has finished."""
    return client.create_collection(name, configuration={"hnsw": {"space": "cosine"}},
                                    metadata={**metadata, "state": "building"}, embedding_function=None)


def mark_ready(collection, lexical_weight: float) -> None:
    """Record that the build finished, and the ranking weight searches of this index use."""
    collection.modify(metadata={**collection.metadata, "state": "ready", "lexical_weight": lexical_weight})


class FolderStore:
    """The embedded index: a Chroma folder, with the sentence vectors in ``sentences.npz`` beside it.
    (``dllab.rag.server.ServerStore`` is the same for a Chroma server.)"""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.client = open_client(folder)

    def existing(self):
        return existing_collection(self.client)

    def create(self, metadata: dict, replace: bool):
        """A new empty collection; ``replace``: the existing one and its sentence vectors are dropped first."""
        from dllab.rag.sentences import VECTORS_FILE

        if replace:
            self.client.delete_collection(COLLECTION)
            (self.folder / VECTORS_FILE).unlink(missing_ok=True)  # vectors of another model
        return create_collection(self.client, metadata)

    def update_vectors(self, chunk_texts: list[str], model_loader, batch_size: int) -> dict:
        from dllab.rag.sentences import update_vectors

        return update_vectors(self.folder, chunk_texts, model_loader, batch_size)

    def close(self) -> None:
        self.client.close()
