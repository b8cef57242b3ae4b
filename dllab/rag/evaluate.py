"""Retrieval quality on a question set: hit@1, hit@k, MRR and query latency, plus a per-question table."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dllab.errors import DataError
from dllab.files import read_yaml
from dllab.rag.search import Hit, Retriever


@dataclass
class Question:
    text: str
    answers: list[dict]  # each: file, and optionally page and passage


@dataclass
class Result:
    question: Question
    hits: list[Hit]
    rank: int | None  # 1-based rank of the first chunk that answers, None if none in the top k
    seconds: float


def load_questions(path: str | Path) -> list[Question]:
    """Read and check the question file (see data/rag/questions.yaml for the format)."""
    path = Path(path)
    entries = read_yaml(path, DataError)
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{path}: expected a list of {{question, answers}} entries")
    questions = []
    for n, entry in enumerate(entries, start=1):
        where = f"{path}: entry {n}"
        if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
            raise DataError(f"{where}: needs a 'question' text")
        answers = entry.get("answers")
        if not isinstance(answers, list) or not answers:
            raise DataError(f"{where}: needs a non-empty 'answers' list")
        for answer in answers:
            if not (isinstance(answer, dict) and isinstance(answer.get("file"), str)
                    and set(answer) <= {"file", "page", "passage"}
                    and isinstance(answer.get("page", 1), int) and isinstance(answer.get("passage", ""), str)):
                raise DataError(f"{where}: each answer is {{file: NAME, page: N, passage: TEXT}} "
                                f"(page and passage optional), not {answer!r}")
        questions.append(Question(entry["question"], answers))
    return questions


def answers(hit: Hit, question: Question) -> bool:
    """Whether the retrieved chunk is one of the places that answer the question."""
    text = _plain(hit.text)
    return any(hit.file == a["file"] and a.get("page", hit.page) == hit.page
               and _plain(str(a.get("passage", ""))) in text for a in question.answers)


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def run(retriever: Retriever, questions: list[Question], k: int, lexical_weight: float | None = None) -> list[Result]:
    retriever.search("Question d'échauffement sans rapport.", k)  # warm-up: the first query pays one-off costs
    results = []
    for question in questions:
        start = time.perf_counter()
        hits = retriever.search(question.text, k, lexical_weight=lexical_weight)
        seconds = time.perf_counter() - start
        rank = next((i for i, hit in enumerate(hits, start=1) if answers(hit, question)), None)
        results.append(Result(question, hits, rank, seconds))
    return results


def metrics(results: list[Result], k: int) -> dict:
    """hit@1, hit@k, MRR (reciprocal rank of the first answering chunk within the top k) and latency."""
    ranks = [r.rank for r in results]
    latency_ms = np.array([r.seconds * 1000 for r in results])
    return {
        "questions": len(results),
        "k": k,
        "hit_at_1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
        "hit_at_k": round(sum(r is not None for r in ranks) / len(ranks), 4),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
        "latency_ms_p50": round(float(np.percentile(latency_ms, 50)), 2),
        "latency_ms_p95": round(float(np.percentile(latency_ms, 95)), 2),
    }


def per_question(results: list[Result]) -> list[dict]:
    """What each question retrieved, as data (the report builds its table from this)."""
    return [{"question": r.question.text, "rank": r.rank, "latency_ms": round(r.seconds * 1000, 2),
             "hits": [{"file": h.file, "page": h.page, "score": round(h.score, 4), "answers": answers(h, r.question),
                       "excerpt": " ".join(h.text.split())[:160]} for h in r.hits]}
            for r in results]


def table(results: list[Result]) -> str:
    """A Markdown table: each question, the rank of its answer and what was retrieved."""
    lines = ["| # | question | answer rank | retrieved (file:page score: start of the text) |",
             "|---|---|---|---|"]
    for n, r in enumerate(results, start=1):
        found = "<br>".join(
            f"{'**' if answers(h, r.question) else ''}{h.file}:{h.page or '-'} {h.score:.3f}"
            f"{'**' if answers(h, r.question) else ''}: {_escape(h.text[:90])}…" for h in r.hits)
        lines.append(f"| {n} | {_escape(r.question.text)} | {r.rank or 'miss'} | {found} |")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
