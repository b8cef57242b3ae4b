"""Answers shaped by their question, in quote mode, on a real ChromaDB index (multilingual E5) of the pipeline's
documents (data/rag) and of the tests' small documents (tests/chat/docs): the original notebook's three
questions, a follow-up, questions to decline, a greeting and an English question."""
import re

import pytest

from dllab.chat.answer import ENGLISH_NOTE, INVITATION, Answerer, not_found, without_citations
from dllab.chat.config import ChatParams
from dllab.chat.evaluate import answer_sentences, is_supported
from dllab.params import load
from dllab.rag.config import RagParams
from dllab.rag.index import build_index
from dllab.rag.search import Retriever
from tests.chat import helpers
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # builds real indexes with the real embedding model

VARIANTS = ["tatin", "normande", "alsacienne", "amandine", "fine", "crumble", "apple pie", "strudel"]


def chat_params() -> ChatParams:
    return load(REPO / "params.yaml", ChatParams)


@pytest.fixture(scope="module")
def pipeline_docs(tmp_path_factory):
    """An Answerer on an index of data/rag built with the repository's rag params."""
    rag = load(REPO / "params.yaml", RagParams, only=("chunk_size", "chunk_overlap", "embedding_model"))
    index = tmp_path_factory.mktemp("pipeline-index") / "chromadb"
    build_index(REPO / "data/rag", index, rag)
    retriever = Retriever.open(index)
    yield Answerer(retriever, None, chat_params())
    retriever.close()


def ask(answerer, question, history=()):
    hits = answerer.retriever.search(answerer.query(question, list(history)), k=answerer.params.top_k)
    plan = answerer.plan(question, hits, list(history))
    answer = "".join(answerer.stream(question, plan))
    if not plan.declined and not plan.reply:  # every sentence is a document's, from a listed source
        passages = [hit.text for hit in plan.hits]
        assert all(is_supported(s, passages) for s in answer_sentences(answer)), answer
        assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} <= set(range(1, len(plan.hits) + 1))
    return plan, answer


def named(answer, names):
    text = without_citations(answer).casefold()
    return [name for name in names if name in text]


def test_the_variants_are_answered_as_a_list_of_at_least_five(pipeline_docs):
    plan, answer = ask(pipeline_docs, "Quelles sont les différentes variantes de la tarte aux pommes ?")
    assert plan.kind == "list" and len(named(answer, VARIANTS)) >= 5, answer
    assert "Antiquité" not in answer  # no history lesson


def test_the_recipe_is_answered_with_at_least_five_of_its_steps_in_order(pipeline_docs):
    plan, answer = ask(pipeline_docs, "Comment faire une tarte aux pommes ?")
    steps = [int(n) for n in re.findall(r"Étape (\d+) :", answer)]
    assert plan.kind == "procedure" and len(steps) >= 5 and steps == sorted(set(steps)), answer
    assert not answer.startswith("On peut les")


def test_the_secret_and_its_follow_up(pipeline_docs):
    question = "Quel est le secret d'une bonne tarte aux pommes ?"
    plan, answer = ask(pipeline_docs, question)
    assert "secret" in answer and not plan.declined
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    plan, follow = ask(pipeline_docs, "Et pour la tatin ?", history)
    assert "Tatin" in follow and "secret" in follow, follow
    assert not re.search(r"(^|\] )Oui\. \[", follow)  # never « Oui. » alone


@pytest.mark.parametrize("question", ["Comment faire une pizza margherita ?", "Comment faire un œuf dur ?",
                                      "Comment faire une tarte au citron meringuée ?"])
def test_what_the_documents_do_not_cover_is_declined(pipeline_docs, question):
    plan, answer = ask(pipeline_docs, question)
    assert plan.declined and answer == not_found(question)


def test_english_questions_are_answered_in_french_with_a_note_or_declined_in_english(pipeline_docs):
    plan, answer = ask(pipeline_docs, "How do I make an apple pie?")
    assert answer.startswith(ENGLISH_NOTE) and "Étape 1" in answer
    plan, answer = ask(pipeline_docs, "What is the capital of Australia?")
    assert plan.declined and answer == "The documents do not contain this information."


def test_a_greeting_gets_an_invitation_not_quotes(pipeline_docs):
    for greeting in ("Bonjour !", "salut", "tarte"):
        plan, answer = ask(pipeline_docs, greeting)
        assert answer == INVITATION and not plan.hits and not plan.declined


def test_the_small_documents_list_their_five_variants(tmp_path_factory):
    retriever = Retriever.open(helpers.index_dir(tmp_path_factory.getbasetemp()))
    answerer = Answerer(retriever, None, chat_params())
    plan, answer = ask(answerer, "Quelles sont les différentes variantes de la tarte aux pommes ?")
    assert len(named(answer, VARIANTS)) >= 5, answer
    plan, answer = ask(answerer, "Comment faire une pizza margherita ?")
    assert plan.declined
