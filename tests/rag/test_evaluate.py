"""Scoring retrieval: which hits answer a question, the metrics, the question file and its checks."""
from pathlib import Path

import pytest

from dllab.chat.evaluate import states
from dllab.errors import DataError
from dllab.rag.evaluate import Question, Result, answers, load_questions, metrics, table
from dllab.rag.search import Hit

QUESTIONS = Path(__file__).resolve().parents[2] / "data/eval/questions.yaml"


def hit(file, page, text="du texte"):
    return Hit(text, file, page, 0.5, "id")


def test_a_hit_answers_only_when_file_page_and_passage_all_match():
    q = Question("?", [{"file": "d.pdf", "page": 3, "passage": "crème prise"},
                       {"file": "c.txt", "passage": "Quatre  Pommes"}])
    assert answers(hit("d.pdf", 3, "une CREME prise épaisse"), q)  # case, accents and spacing ignored
    assert not answers(hit("d.pdf", 3), q)  # the right page without the passage is not an answer
    assert not answers(hit("d.pdf", 4, "crème prise"), q)
    assert answers(hit("c.txt", None, "il faut quatre pommes\net du sucre"), q)
    assert not answers(hit("c.txt", None, "trois poires"), q)


def test_metrics_from_ranks():
    q = Question("?", [{"file": "a", "passage": "p"}])
    results = [Result(q, [], rank, 0.01 * n) for n, rank in enumerate([1, 2, None, 4], start=1)]
    m = metrics(results, 4)
    assert (m["hit_at_1"], m["hit_at_k"], m["k"], m["questions"]) == (0.25, 0.75, 4, 4)
    assert m["mrr"] == round((1 + 1 / 2 + 1 / 4) / 4, 4)
    assert m["latency_ms_p50"] == 25.0
    rows = table([Result(Question("a | b ?", [{"file": "x", "passage": "texte"}]), [hit("x", 2, "texte | long")], 1, 0.1)])
    assert "a \\| b ?" in rows and "**x:2 0.500**: texte \\| long" in rows


def test_the_question_set_holds_the_notebook_questions_facts_and_out_of_scope_ones():
    questions = load_questions(QUESTIONS)
    texts = [q.text for q in questions]
    assert texts[:3] == ["Quelles sont les différentes variantes de la tarte aux pommes ?",
                         "Comment faire une tarte aux pommes ?",
                         "Quel est le secret d'une bonne tarte aux pommes ?"]
    assert len(questions) >= 40 and len(set(texts)) == len(texts)
    assert sum(q.out_of_scope for q in questions) >= 8
    assert all(q.expect and q.answers for q in questions if not q.out_of_scope)
    files = {a["file"] for q in questions for a in q.answers}
    assert files == {"connaissances.txt", "document.pdf"}


def test_every_gold_passage_and_fact_is_in_the_documents():
    from dllab.rag.documents import load_document
    from dllab.rag.evaluate import _plain

    docs = QUESTIONS.parents[1] / "rag"
    pages = {(name, page.number): page.text for name in ("connaissances.txt", "document.pdf")
             for page in load_document(docs / name, docs).pages}
    for question in load_questions(QUESTIONS):
        for where in question.answers:
            assert _plain(where["passage"]) in _plain(pages[(where["file"], where.get("page"))]), where
        if not question.out_of_scope:  # and the facts a correct answer states are written in a document
            assert any(states(" ".join(pages.values()), fact) for fact in question.expect), question.text


@pytest.mark.parametrize("content, message", [
    ("[]", "expected a list"),
    ("- {answers: [{file: a}]}", "entry 1: needs a 'question' text"),
    ("- {question: Q}", "entry 1: needs a non-empty 'answers' list"),
    ("- {question: Q, answers: [{file: a, pages: 2}]}", "entry 1: each answer is"),
    ("- {question: Q, answers: [{file: a, page: 2}], expect: [x]}", "the passage is required"),
    ("- {question: Q, answers: [{file: a, passage: p}]}", "entry 1: needs an 'expect' list"),
    ("- {question: Q, answers: [{file: a, passage: p}], expect: [x], need: 2}", "need = 2 must be"),
    ("- {question: Q, out_of_scope: true, expect: [x]}", "an out_of_scope question has no"),
    ("- {question: Q, answer: [{file: a, passage: p}]}", "unknown key"),
])
def test_bad_question_files_are_named(tmp_path, content, message):
    (tmp_path / "q.yaml").write_text(content)
    with pytest.raises(DataError, match=message):
        load_questions(tmp_path / "q.yaml")
