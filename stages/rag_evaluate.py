"""Stage rag_evaluate: retrieval quality of the index on the question set (hit@1, hit@k, MRR, latency)."""
import argparse
import json
from pathlib import Path

from dllab.cli import run
from dllab.params import load
from dllab.rag.config import RagParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--out", default="reports/rag", help="folder for metrics.json, questions.md and questions.json")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    k = load(args.params, RagParams, only=RagParams.EVALUATE_KEYS).top_k

    from dllab.files import write_json, write_text
    from dllab.rag.evaluate import load_questions, metrics, per_question, run as ask, table
    from dllab.rag.search import Retriever

    questions = load_questions(args.questions)
    retriever = Retriever.open(args.index)
    results = ask(retriever, questions, k)
    summary = metrics(results, k)
    # The two halves of the hybrid ranking alone, to show what each contributes.
    for name, weight in [("dense_only", 0.0), ("lexical_only", 1.0)]:
        alone = metrics(ask(retriever, questions, k, lexical_weight=weight), k)
        summary[name] = {key: alone[key] for key in ("hit_at_1", "hit_at_k", "mrr")}
    summary["lexical_weight"] = retriever.lexical_weight
    write_text(Path(args.out) / "questions.md", table(results))
    write_json(Path(args.out) / "questions.json", per_question(results))
    write_json(Path(args.out) / "metrics.json", summary)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    run(main)
