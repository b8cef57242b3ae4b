"""The ``rag`` section of params.yaml: what each key may hold, and which stage reads which keys."""
from dllab.params import boolean, integer, number, text

SPEC = {
    "docs_dir": text(),                       # folder of .txt, .md and .pdf files
    "chunk_size": integer(min=100, max=8000),  # characters per chunk at most
    "chunk_overlap": integer(min=0, max=4000),  # characters repeated from the end of the previous chunk
    "embedding_model": text(),                # 'default', a sentence-transformers name or a local folder
    "batch_size": integer(min=1, max=4096),   # chunks per embedding batch
    "strict": boolean(),                      # true: a file that cannot be read stops the stage
    "lexical_weight": number(min=0, max=1),   # share of the BM25 score in the hybrid ranking
    "top_k": integer(min=1, max=100),         # passages returned per question
    "chroma_url": text(nonempty=False),       # '' = the embedded index folder; http://HOST:PORT = a Chroma server
}
INDEX_KEYS = ["docs_dir", "chunk_size", "chunk_overlap", "embedding_model", "batch_size", "strict",
              "lexical_weight", "chroma_url"]
EVALUATE_KEYS = ["top_k"]

# Used by the library when a caller passes only some keys (tests, the chat service).
DEFAULTS = {
    "chunk_size": 600,
    "chunk_overlap": 100,
    "embedding_model": "default",
    "batch_size": 32,
    "strict": False,
    "lexical_weight": 0.5,
    "top_k": 4,
    "chroma_url": "",
}
