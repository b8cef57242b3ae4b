"""The ``rag`` section of params.yaml, and which stage reads which keys."""
from typing import ClassVar

from pydantic import model_validator

from dllab.params import Section, boolean, integer, number, source_in, text
from dllab.rag.embeddings import SOURCES as EMBEDDERS


class RagParams(Section):
    section: ClassVar[str] = "rag"

    docs_dir: text() = "data/rag"                      # folder of .txt, .md and .pdf files
    chunk_size: integer(min=100, max=8000) = 600       # characters per chunk at most
    chunk_overlap: integer(min=0, max=4000) = 100      # characters repeated from the end of the previous chunk
    embedding_model: source_in(EMBEDDERS) = "e5-multilingual"  # registered, hf:OWNER/NAME or a folder
    batch_size: integer(min=1, max=4096) = 32          # chunks per embedding batch
    strict: boolean() = False                          # true: a file that cannot be read stops the stage
    lexical_weight: number(min=0, max=1) = 0.5         # share of the BM25 score in the hybrid ranking
    top_k: integer(min=1, max=100) = 4                 # passages returned per question
    chroma_url: text(nonempty=False) = ""              # '' = the embedded index folder; http://HOST:PORT = a server

    INDEX_KEYS: ClassVar[tuple[str, ...]] = ("docs_dir", "chunk_size", "chunk_overlap", "embedding_model",
                                             "batch_size", "strict", "lexical_weight", "chroma_url")
    EVALUATE_KEYS: ClassVar[tuple[str, ...]] = ("top_k",)

    @model_validator(mode="after")
    def _overlap_under_size(self):
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"rag.chunk_overlap = {self.chunk_overlap} must be smaller than rag.chunk_size = "
                             f"{self.chunk_size}: each chunk repeats that many characters of the one before")
        return self
