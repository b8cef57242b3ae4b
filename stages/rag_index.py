"""Stage rag_index: build the knowledge-base index (or update the changed files only) and report its size."""
import argparse
import json

from dllab.cli import record_timing, run
from dllab.params import load
from dllab.rag.config import RagParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default="models/chromadb", help="ChromaDB folder (created or updated)")
    parser.add_argument("--metrics", default="reports/rag/index.json")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    params = load(args.params, RagParams, only=RagParams.INDEX_KEYS)

    from dllab.files import write_json
    from dllab.rag.index import build_index

    stats = build_index(params.docs_dir, args.index, params)
    record_timing(**stats.pop("timing"))
    write_json(args.metrics, stats)
    print(json.dumps({k: v for k, v in stats.items() if k != "skipped"}, indent=2))
    for skipped in stats["skipped"]:
        print(f"warning: {skipped['reason']}")


if __name__ == "__main__":
    run(main)
