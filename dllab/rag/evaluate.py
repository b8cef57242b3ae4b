"""Retrieval quality on a question set: hit@1, hit@k, MRR and query latency, plus a per-question table."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dllab.errors import DataError
from dllab.files import read_yaml
from dllab.rag.lexical import fold_accents
from dllab.rag.search import Hit, Retriever

# What a question asks for (the same names as dllab.chat.questions.KINDS, which recognises them).
KINDS = ("procedure", "list", "quantity", "yes_no", "why", "other")


@dataclass
class Question:
    text: str
    answers: list[dict]  # where the answer is: each {file, page (PDFs), passage}; empty when out of scope
    expect: list[str] = field(default_factory=list)  # facts a correct answer states (dllab.chat.evaluate)
    need: int = 1                                    # how many of them
    out_of_scope: bool = False                       # the documents do not answer it: the chatbot must decline
    kind: str | None = None                          # what it asks for (KINDS); None when the set does not say


@dataclass
class Result:
    question: Question
    hits: list[Hit]
    rank: int | None  # 1-based rank of the first chunk that answers, None if none in the top k
    seconds: float


def load_questions(path: str | Path) -> list[Question]:
    """Read and check the question file (see data/eval/questions.yaml for the format)."""
    path = Path(path)
    entries = read_yaml(path, DataError)
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{path}: expected a list of {{question, answers, expect}} entries")
    return [_question(entry, f"{path}: entry {n}") for n, entry in enumerate(entries, start=1)]


def _question(entry, where: str) -> Question:
    if not isinstance(entry, dict) or not isinstance(entry.get("question"), str) or not entry["question"].strip():
        raise DataError(f"{where}: needs a 'question' text")
    unknown = set(entry) - {"question", "answers", "expect", "need", "out_of_scope", "kind"}
    if unknown:
        raise DataError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: question, answers, expect, need, "
                        "out_of_scope, kind")
    kind = entry.get("kind")
    if kind is not None and kind not in KINDS:
        raise DataError(f"{where}: kind = {kind!r}; use one of {', '.join(KINDS)} (or leave it out)")
    if entry.get("out_of_scope") is True:
        if entry.get("answers") or entry.get("expect"):
            raise DataError(f"{where}: an out_of_scope question has no 'answers' and no 'expect'")
        return Question(entry["question"], [], out_of_scope=True, kind=kind)
    answers, expect, need = entry.get("answers"), entry.get("expect"), entry.get("need", 1)
    if not isinstance(answers, list) or not answers:
        raise DataError(f"{where}: needs a non-empty 'answers' list (or out_of_scope: true)")
    for answer in answers:
        if not (isinstance(answer, dict) and isinstance(answer.get("file"), str)
                and set(answer) <= {"file", "page", "passage"} and isinstance(answer.get("passage"), str)
                and answer["passage"].strip() and isinstance(answer.get("page", 1), int)):
            raise DataError(f"{where}: each answer is {{file: NAME, page: N, passage: TEXT}} (page for PDFs; "
                            f"the passage is required: a page alone does not locate an answer), not {answer!r}")
    if not (isinstance(expect, list) and expect and all(isinstance(e, (str, int)) and str(e).strip() for e in expect)):
        raise DataError(f"{where}: needs an 'expect' list of the facts a correct answer states")
    if not (isinstance(need, int) and 1 <= need <= len(expect)):
        raise DataError(f"{where}: need = {need!r} must be a whole number from 1 to {len(expect)} (the facts listed)")
    return Question(entry["question"], answers, [str(e) for e in expect], need, kind=kind)


def answerable(questions: list[Question]) -> list[Question]:
    return [q for q in questions if not q.out_of_scope]


def answers(hit: Hit, question: Question) -> bool:
    """Whether the retrieved chunk is one of the places that answer the question (strict: its passage is in it)."""
    text = _plain(hit.text)
    return any(hit.file == a["file"] and a.get("page", hit.page) == hit.page
               and _plain(a["passage"]) in text for a in question.answers)


def _plain(text: str) -> str:
    """Case, accents and spacing ignored."""
    return " ".join(fold_accents(text).split()).casefold()


def run(retriever: Retriever, questions: list[Question], k: int, lexical_weight: float | None = None) -> list[Result]:
    retriever.search("Question d'échauffement sans rapport.", k)  # warm-up: the first query pays one-off costs
    results = []
    for question in answerable(questions):
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
