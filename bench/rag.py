"""Benchmark the knowledge base: embedding throughput, full build and reload of the default documents,
retrieval quality on data/eval/questions.yaml, and query latency on a synthetic collection of 10,000 chunks.

Writes reports/bench/rag.json with the machine description. Run: `python bench/rag.py` (about 1-2 minutes).
`python bench/rag.py --chroma-url http://127.0.0.1:8001 --synthetic-chunks 0 --out reports/bench/rag-server.json`
measures the same build, reload and queries with the index on a Chroma server (`chroma run`).
The synthetic collection stores random unit vectors with texts made of the documents' own words, so the
dense search (HNSW), the BM25 part and the fusion run at that scale without embedding 10,000 chunks first.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from dllab.files import write_json
from dllab.params import load
from dllab.rag.config import RagParams
from dllab.runtime import machine_description


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def synthetic_index(folder: Path, texts: list[str], size: int, params: RagParams, dimension: int,
                    seed: int = 0) -> float:
    """Write ``size`` chunks of shuffled document words with random unit vectors; return the seconds it took."""
    from dllab.rag.chunking import Chunk, chunk_id
    from dllab.rag.index import Changed, add_chunks
    from dllab.rag.store import create_collection, mark_ready, open_client

    rng = np.random.default_rng(seed)
    words = " ".join(texts).split()
    files = []  # 100 chunks per synthetic file, ~400-600 characters each like the real ones
    for n in range(0, size, 100):
        name = f"synthetic/{n // 100:03d}.txt"
        chunk_texts = [" ".join(rng.choice(words, length)) for length in rng.integers(60, 100, min(100, size - n))]
        chunks = [Chunk(text, name, None, i, chunk_id(name, None, text, i)) for i, text in enumerate(chunk_texts)]
        files.append(Changed(name, "synthetic", 1, chunks))
    vectors = rng.standard_normal((size, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    client = open_client(folder)
    start = time.perf_counter()
    collection = create_collection(client, {"embedding_model": params.embedding_model, "dimension": dimension,
                                            "chunk_size": params.chunk_size, "chunk_overlap": params.chunk_overlap})
    add_chunks(client, collection, [c for changed in files for c in changed.chunks], vectors, files)
    mark_ready(collection, params.lexical_weight)
    client.close()
    return time.perf_counter() - start


def latencies(retriever, questions: list[str], k: int, repeats: int) -> dict:
    retriever.search("Question d'échauffement.", k)
    seconds = []
    for n in range(repeats):
        for question in questions:
            retriever._recent_queries.clear()  # time the question's embedding too, every time
            seconds.append(timed(retriever.search, question, k)[1] * 1000)
    return {"queries": len(seconds), "p50": round(float(np.percentile(seconds, 50)), 2),
            "p95": round(float(np.percentile(seconds, 95)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--chroma-url", help="instead of params.yaml's rag.chroma_url ('' = the embedded folder)")
    parser.add_argument("--out", default="reports/bench/rag.json")
    args = parser.parse_args()
    params = load(args.params, RagParams)
    if args.chroma_url is not None:
        params = params.with_values(chroma_url=args.chroma_url)

    _, import_seconds = timed(__import__, "sentence_transformers")
    from dllab.rag.embeddings import load_model
    from dllab.rag.evaluate import load_questions, metrics, run
    from dllab.rag.index import build_index
    from dllab.rag.search import Retriever

    questions = load_questions(args.questions)
    k = params.top_k
    with tempfile.TemporaryDirectory() as tmp:
        stats = build_index(params.docs_dir, Path(tmp) / "index", params)
        load_model.cache_clear()  # the reload below loads the model from disk, as a new process would
        retriever, reload_seconds = timed(Retriever.open, Path(tmp) / "index")
        quality = metrics(run(retriever, questions, k), k)
        small = latencies(retriever, [q.text for q in questions], k, repeats=2)
        texts = list(retriever.texts)
        dimension = retriever.model.get_embedding_dimension()
        retriever.close()

        synthetic = {"chunks": 0}
        if args.synthetic_chunks:
            write_seconds = synthetic_index(Path(tmp) / "synthetic", texts, args.synthetic_chunks, params, dimension)
            big, big_reload_seconds = timed(Retriever.open, Path(tmp) / "synthetic")
            synthetic = {"chunks": args.synthetic_chunks, "write_seconds": round(write_seconds, 2),
                         "reload_seconds": round(big_reload_seconds, 3),
                         "query_ms": latencies(big, [q.text for q in questions], k, repeats=2)}
            big.close()

    report = {
        "benchmark": "rag",
        "params": params.model_dump(),
        "documents": {key: stats[key] for key in ("files", "pages", "chunks")},
        "build_seconds": stats["timing"]["index_seconds"],
        "embedding_seconds": stats["timing"]["embedding_seconds"],
        "chunks_per_second": stats["timing"]["chunks_per_second"],
        "import_sentence_transformers_seconds": round(import_seconds, 2),
        "reload_seconds": round(reload_seconds, 3),
        "quality": quality,
        "query_ms_default_index": small,
        "synthetic": synthetic,
        "targets": {"hit_at_k_min": 0.95, "hit_at_1_min": 0.8, "reload_seconds_max": 1.0},
        "machine": machine_description(),
    }
    write_json(args.out, report)
    print(json.dumps({key: v for key, v in report.items() if key not in ("params", "machine")}, indent=2))


if __name__ == "__main__":
    main()
