"""What the chatbot's users see, measured: are its answers correct, faithful, good French, declined when
they should be, and how fast do they come?

Definitions (the report repeats them):
- ``correct``: share of answerable questions whose answer states at least ``need`` of the question's
  ``expect`` facts, after ``normalise`` (case, accents, spacing, punctuation, number words and units).
  A declined answer is never correct.
- ``faithful``: share of answer sentences supported by a retrieved passage: found verbatim (normalised) in
  one, or, for generated text, with at least ``FAITHFUL_WORDS`` of its content words found in the passages.
- ``french_ok``: share of the answers' words that the French dictionary accepts (Debian's ``hunspell`` with
  ``hunspell-fr``'s fr_FR), digits and citation marks left out.
- ``declined``: share of out-of-scope questions answered with the "not in the documents" sentence;
  ``wrongly_declined``: the same share among answerable questions.
- time to first word and total latency, p50 and p95, through the same ``ChatService`` as the web server.
- ``per_kind``: the same shares for each kind of question the set names (``kind``: procedure, list, …), and
  ``notebook``: the set's first three questions (the original notebook's) with their answers verbatim.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass

import numpy as np

from dllab.chat.answer import not_found, without_citations
from dllab.errors import UserError
from dllab.rag.chunking import sentences
from dllab.rag.evaluate import Question
from dllab.rag.lexical import tokens

FAITHFUL_WORDS = 0.8  # a generated sentence is supported when this share of its content words is in the passages

_NUMBER_WORDS = {
    "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6", "sept": "7",
    "huit": "8", "neuf": "9", "dix": "10", "onze": "11", "douze": "12", "quinze": "15", "vingt": "20",
    "trente": "30", "quarante": "40", "cinquante": "50", "soixante": "60", "cent": "100",
}
_UNITS = [(r"(\d)\s*°\s*c\b", r"\1 degres"), (r"(\d)\s*°", r"\1 degres"), (r"\bdegres celsius\b", "degres"),
          (r"\bkilogrammes?\b", "kg"), (r"\bgrammes?\b", "g"), (r"\bcentimetres?\b", "cm"),
          (r"\bmillimetres?\b", "mm"), (r"\bcentilitres?\b", "cl"), (r"\bminutes?\b", "min"),
          (r"\bheures?\b", "h"), (r"(\d),(\d)", r"\1.\2")]


@dataclass
class Answered:
    question: Question
    answer: str
    passages: list[str]       # the retrieved passages' texts, in rank order
    sources: list[dict]
    declined: bool
    evidence: float
    first_word_s: float
    total_s: float
    judged: float | None = None  # the judge's P(yes), when the evidence was ambiguous enough to ask it


def normalise(text: str) -> str:
    """Lower case, no accents, units and number words unified, punctuation as spaces."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'")
    for pattern, replacement in _UNITS:
        text = re.sub(pattern, replacement, text)
    words = re.findall(r"\d+(?:\.\d+)?|[^\W\d_]+", text)
    return " ".join(_NUMBER_WORDS.get(word, word) for word in words)


def states(answer: str, fact: str) -> bool:
    """Whether ``answer`` states ``fact`` (whole words, after ``normalise``)."""
    return f" {normalise(fact)} " in f" {normalise(answer)} "


def is_declined(answer: str, question: str) -> bool:
    return normalise(without_citations(answer)) == normalise(not_found(question))


def is_correct(answered: Answered) -> bool:
    if answered.declined:
        return False
    stated = sum(states(answered.answer, fact) for fact in answered.question.expect)
    return stated >= answered.question.need


def answer_sentences(answer: str) -> list[str]:
    return [s for s in sentences(without_citations(quoted_part(answer))) if any(ch.isalnum() for ch in s)]


def quoted_part(answer: str) -> str:
    """The answer without the note said before quotes for an English question (it is not a quote)."""
    from dllab.chat.answer import ENGLISH_NOTE

    return answer[len(ENGLISH_NOTE):].strip() if answer.startswith(ENGLISH_NOTE) else answer


def is_supported(sentence: str, passages: list[str]) -> bool:
    """Verbatim in a passage (normalised), or at least FAITHFUL_WORDS of its content words in the passages."""
    plain = normalise(sentence)
    if any(plain in normalise(passage) for passage in passages):
        return True
    words = set(tokens(sentence))
    if not words:
        return True  # nothing stated
    known = set(tokens(" ".join(passages)))
    return len(words & known) / len(words) >= FAITHFUL_WORDS


def answer_words(answer: str) -> list[str]:
    """The words the spelling check reads: letters only (digits, citation marks and punctuation left out)."""
    return re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", without_citations(quoted_part(answer)))


def unknown_french_words(words: list[str]) -> set[str]:
    """The words hunspell's French dictionary (fr_FR) does not accept."""
    if not shutil.which("hunspell"):
        raise UserError("hunspell is not installed: `apt-get install hunspell hunspell-fr` "
                        "(scripts/setup.sh does it)")
    result = subprocess.run(["hunspell", "-d", "fr_FR", "-l"], input="\n".join(words), capture_output=True,
                            text=True, encoding="utf-8")
    if result.returncode != 0 or "Can't open affix or dictionary" in result.stderr:
        raise UserError(f"hunspell cannot use its French dictionary ({result.stderr.strip()}): "
                        "`apt-get install hunspell-fr`")
    return set(result.stdout.split())


def ask_all(service, questions: list[Question], progress=None) -> list[Answered]:
    """Every question through the chat service, one at a time, as the server would answer it."""
    results = []
    from dllab.chat.service import Busy

    for question in questions:
        sources, declined, evidence, passages, first, total, answer = [], False, 0.0, [], None, None, ""
        judged = None
        try:
            turn = service.open_turn(question.text, [])
        except Busy as exc:  # e.g. a remote LLM server that is down: the stage stops, saying so
            raise UserError(f"question {question.text!r}: {exc}") from None
        with turn:
            for event in turn:
                if event.name == "token" and first is None and any(ch.isalnum() for ch in event.data["text"]):
                    first = turn.elapsed()
                elif event.name == "sources":
                    sources, declined = event.data["sources"], event.data["declined"]
                    evidence, passages = event.data["evidence"], [hit.text for hit in turn.plan.hits]
                    judged = event.data.get("judged")
                elif event.name == "done":
                    answer, total = event.data["answer"], turn.elapsed()
                elif event.name == "error":  # never measured as an empty answer
                    raise UserError(f"question {question.text!r}: {event.data['error']}")
        results.append(Answered(question, answer, passages, sources, declined, evidence, first or total, total,
                                judged))
        if progress:
            progress(results[-1])
    return results


def metrics(results: list[Answered]) -> dict:
    inside = [r for r in results if not r.question.out_of_scope]
    outside = [r for r in results if r.question.out_of_scope]
    spoken = [s for r in results if not r.declined for s in answer_sentences(r.answer)]
    supported = sum(is_supported(s, r.passages) for r in results if not r.declined
                    for s in answer_sentences(r.answer))
    words = [w for r in results for w in answer_words(r.answer)]
    unknown = unknown_french_words(sorted(set(words))) if words else set()
    first = np.array([r.first_word_s for r in results])
    total = np.array([r.total_s for r in results])
    share = lambda part, whole: round(part / whole, 4) if whole else None  # noqa: E731
    return {
        "questions": len(results), "answerable": len(inside), "out_of_scope": len(outside),
        "correct": share(sum(map(is_correct, inside)), len(inside)),
        "faithful": share(supported, len(spoken)),
        "french_ok": share(sum(w not in unknown for w in words), len(words)),
        "declined": share(sum(r.declined for r in outside), len(outside)),
        "wrongly_declined": share(sum(r.declined for r in inside), len(inside)),
        "first_word_s_p50": round(float(np.percentile(first, 50)), 3),
        "first_word_s_p95": round(float(np.percentile(first, 95)), 3),
        "latency_s_p50": round(float(np.percentile(total, 50)), 3),
        "latency_s_p95": round(float(np.percentile(total, 95)), 3),
        "unknown_words": sorted(unknown),
        "per_kind": per_kind(results),
        "notebook": [{"question": r.question.text, "answer": r.answer, "correct": is_correct(r)} for r in results[:3]],
    }


CHECK_KEYS = ("questions", "answerable", "out_of_scope", "correct", "faithful", "french_ok", "declined",
              "wrongly_declined", "first_word_s_p50", "first_word_s_p95")


def check_metrics(results: list[Answered], questions_file: str) -> dict:
    """The measures of a question set that nothing is calibrated on (an untouched check), for metrics.json's
    ``check``: the set's path, its headline measures and how many questions the judge read."""
    full = metrics(results)
    return {"questions_file": questions_file, **{key: full[key] for key in CHECK_KEYS},
            "judged": sum(r.judged is not None for r in results), "per_kind": full["per_kind"]}


def per_kind(results: list[Answered]) -> dict[str, dict]:
    """For each kind of question in the set (``unlabelled`` when it names none): how many answerable and
    out-of-scope questions, correct, wrongly declined, and declined among the out-of-scope ones."""
    table: dict[str, dict] = {}
    for kind in dict.fromkeys(r.question.kind or "unlabelled" for r in results):
        mine = [r for r in results if (r.question.kind or "unlabelled") == kind]
        inside = [r for r in mine if not r.question.out_of_scope]
        outside = [r for r in mine if r.question.out_of_scope]
        share = lambda part, whole: round(part / whole, 4) if whole else None  # noqa: E731
        table[kind] = {"answerable": len(inside), "correct": share(sum(map(is_correct, inside)), len(inside)),
                       "wrongly_declined": share(sum(r.declined for r in inside), len(inside)),
                       "out_of_scope": len(outside), "declined": share(sum(r.declined for r in outside), len(outside))}
    return table


def calibration(results: list[Answered]) -> list[dict]:
    """What declining below each threshold would do: the shares declined among out-of-scope and among
    answerable questions, at every threshold that changes them (midpoints between observed evidence)."""
    inside = np.array([r.evidence for r in results if not r.question.out_of_scope])
    outside = np.array([r.evidence for r in results if r.question.out_of_scope])
    observed = np.unique(np.concatenate([inside, outside]))
    thresholds = [0.0, *((observed[:-1] + observed[1:]) / 2), float(observed[-1]) + 1e-4] if len(observed) else [0.0]
    share = lambda values, t: round(float(np.mean(values < t)), 4) if len(values) else None  # noqa: E731
    return [{"threshold": round(float(t), 4), "declined": share(outside, t), "wrongly_declined": share(inside, t)}
            for t in thresholds]


def judge_calibration(results: list[Answered]) -> list[dict]:
    """What the judge declining under each P(yes) threshold would do, the other ways of declining kept: the
    shares declined among out-of-scope and answerable questions. The judge is asked only once every other
    check has passed, so a judged question is declined by it or not at all."""
    judged = sorted({r.judged for r in results if r.judged is not None})
    thresholds = [0.0, *((a + b) / 2 for a, b in zip(judged, judged[1:])), *(judged[-1:] and [judged[-1] + 1e-4])]

    def share(rows: list[Answered], t: float):
        declined = [(r.declined and r.judged is None) or (r.judged is not None and r.judged < t) for r in rows]
        return round(float(np.mean(declined)), 4) if rows else None

    inside = [r for r in results if not r.question.out_of_scope]
    outside = [r for r in results if r.question.out_of_scope]
    return [{"threshold": round(float(t), 4), "declined": share(outside, t), "wrongly_declined": share(inside, t)}
            for t in thresholds]


def suggested_threshold(rows: list[dict], most_wrongly_declined: float = 0.05) -> float:
    """The highest threshold that declines no more than ``most_wrongly_declined`` of answerable questions
    (the target's bound): it declines as many out-of-scope questions as that allows."""
    allowed = [row["threshold"] for row in rows if (row["wrongly_declined"] or 0) <= most_wrongly_declined]
    return max(allowed, default=0.0)


def calibration_figure(rows: list[dict], chosen: float, path) -> None:
    """The two declined shares against the threshold, with the chosen one marked."""
    from dllab.plotting import plt, save

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    thresholds = [row["threshold"] for row in rows]
    ax.step(thresholds, [row["declined"] for row in rows], where="post", label="out-of-scope questions declined")
    ax.step(thresholds, [row["wrongly_declined"] for row in rows], where="post",
            label="answerable questions declined (wrongly)")
    ax.axvline(chosen, color="grey", linestyle="--", label=f"chat.decline_below = {chosen}")
    ax.set_xlabel("threshold on the best sentence's cosine with the question")
    ax.set_ylabel("share of questions")
    ax.set_xlim(min((t for t in thresholds if t > 0), default=0) - 0.02, max(thresholds) + 0.01)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, path)


def per_question(results: list[Answered]) -> list[dict]:
    return [{"question": r.question.text, "kind": r.question.kind, "out_of_scope": r.question.out_of_scope,
             "answer": r.answer,
             "expect": r.question.expect, "need": r.question.need, "correct": is_correct(r),
             "declined": r.declined, "evidence": r.evidence,  # no timing: this file is the same on every run
             "judged": r.judged,
             "sources": [f"[{s['number']}] {s['file']}" + (f" p. {s['page']}" if s["page"] else "")
                         for s in r.sources]}
            for r in results]


def answers_markdown(rows: list[dict], summary: dict) -> str:
    """Every question with its answer, whether it is right, and its sources; the wrong ones first."""
    lines = [f"# Answers ({summary['answer_mode']} mode, model {summary['model']})", "",
             f"correct {summary['correct']}, faithful {summary['faithful']}, french_ok {summary['french_ok']}, "
             f"declined {summary['declined']}, wrongly_declined {summary['wrongly_declined']}, "
             f"decline_below {summary['decline_below']}, judged {summary.get('judged', 0)} questions "
             f"(judge_below {summary.get('judge_below')})", "",
             "| kind | answerable | correct | wrongly declined | out of scope | declined |", "|---|---|---|---|---|---|",
             *(f"| {kind} | {row['answerable']} | {row['correct']} | {row['wrongly_declined']} | {row['out_of_scope']} | "
               f"{row['declined']} |" for kind, row in summary.get("per_kind", {}).items()), "",
             "| # | question | verdict | evidence | judge P(yes) | answer | sources |", "|---|---|---|---|---|---|---|"]
    for n, row in sorted(enumerate(rows, start=1), key=lambda item: _verdict(item[1]) == "right"):
        lines.append(f"| {n} | {_cell(row['question'])} ({row.get('kind') or '-'}) | {_verdict(row)} | "
                     f"{row['evidence']:.3f} | {'-' if row.get('judged') is None else format(row['judged'], '.3f')} | "
                     f"{_cell(row['answer'])} | {_cell('; '.join(row['sources']))} |")
    return "\n".join(lines) + "\n"


def _verdict(row: dict) -> str:
    if row["out_of_scope"]:
        return "right" if row["declined"] else "answered out of scope"
    if row["declined"]:
        return "wrongly declined"
    return "right" if row["correct"] else "wrong"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
