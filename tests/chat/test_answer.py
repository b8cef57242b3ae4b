"""Grounded answers (quote mode) through the real chat service: the real index of tests/chat/docs (multilingual
E5), real espeak-ng; and the composition rules on their own."""
import re
from types import SimpleNamespace

import pytest

from dllab.chat.answer import Answerer, choose_quotes, not_found, without_citations
from dllab.chat.evaluate import is_supported
from dllab.chat.service import ChatService
from dllab.rag.sentences import Quote, rank_quotes
from tests.chat import helpers

QUOTE = {"answer_mode": "quote", "answer_sentences": 3, "answer_chars": 700, "decline_below": 0.84}


@pytest.fixture(scope="module")
def quoting(chat_service):
    llm, chat, tts = helpers.sections()
    return ChatService(chat_service.model, chat_service.retriever, chat_service.speaker, {**chat, **QUOTE})


def test_an_answer_quotes_the_passages_and_cites_them(quoting):
    question = "Combien de temps faut-il cuire la tarte aux pommes ?"
    result = quoting.ask(question, [])
    answer = result["answer"]
    hits = quoting.retriever.search(question, k=helpers.TEST_CHAT["top_k"])
    best = rank_quotes(quoting.retriever, question, hits)[0]
    assert "six pommes" in best.text  # the recipe's sentence: its ingredients, then how to bake them
    # the best sentence, cited with its passage, then the sentence after it in that passage
    assert f"{best.text} [{best.passage}] Étalez la pâte dans un moule" in answer
    cited = {int(n) for n in re.findall(r"\[(\d)\]", answer)}
    assert cited and cited <= {s["number"] for s in result["sources"]}
    passages = [hit.text for hit in quoting.retriever.search("Combien de temps faut-il cuire la tarte aux pommes ?",
                                                             k=helpers.TEST_CHAT["top_k"])]
    for sentence in without_citations(answer).split(". "):
        assert is_supported(sentence, passages)  # every word comes from a passage
    assert result["audio"]["answer"]["seconds"] > 0.5


def test_an_out_of_scope_question_is_declined_with_the_closest_passages(quoting):
    result = quoting.ask("Quelle est la capitale de l'Australie ?", [])
    assert result["answer"] == not_found("Quelle est la capitale de l'Australie ?")
    assert result["declined"] is True and len(result["sources"]) == helpers.TEST_CHAT["top_k"]
    assert result["evidence"] < QUOTE["decline_below"]


def test_the_sources_event_says_how_the_answer_was_made(quoting):
    with quoting.open_turn("Qu'est-ce que la tarte Tatin ?", []) as turn:
        events = {e.name: e.data for e in turn}
    assert events["sources"]["mode"] == "quote" and events["sources"]["declined"] is False
    assert events["sources"]["cited"] and "Tatin" in events["done"]["answer"]


def test_a_long_multi_question_input_still_gets_a_bounded_grounded_answer(quoting):
    question = " ".join(["Comment faire la pâte ? Combien de sucre ? Quelle cuisson pour la tarte normande ?"] * 10)
    result = quoting.ask(question[:1000], [])
    assert 0 < len(without_citations(result["answer"])) <= QUOTE["answer_chars"]
    assert "[" in result["answer"] or result["declined"]


def test_an_empty_index_answers_not_found_never_an_exception(quoting):
    empty = SimpleNamespace(search=lambda question, k: [], sentence_cosines=None, lexical=None)
    answerer = Answerer(empty, None, {**quoting.params, **QUOTE})
    plan = answerer.plan("Comment faire une tarte ?", [], [])
    assert plan.declined and "".join(answerer.stream("Comment faire une tarte ?", plan)) == not_found("Comment")


def quote(text, passage, position, score):
    return Quote(text, passage, position, score)


def test_chosen_sentences_are_the_best_within_the_limits_in_reading_order():
    ranked = [quote("C.", 2, 5, 0.9), quote("A.", 1, 0, 0.8), quote("D.", 2, 1, 0.7), quote("B.", 1, 3, 0.6)]
    chosen = choose_quotes(ranked, {"answer_sentences": 3, "answer_chars": 700})
    assert [q.text for q in chosen] == ["D.", "C.", "A."]  # passage 2 first (its sentence ranked best), in order
    long = [quote("x" * 600 + ".", 1, 0, 0.9), quote("y" * 200 + ".", 1, 1, 0.8), quote("z.", 1, 2, 0.7)]
    assert [q.text[0] for q in choose_quotes(long, {"answer_sentences": 3, "answer_chars": 700})] == ["x", "z"]
    assert choose_quotes([], {"answer_sentences": 3, "answer_chars": 700}) == []


def test_each_best_sentence_brings_the_sentence_after_it_in_its_passage():
    ranked = [quote("La deuxième erreur est une pâte qui se rétracte dans le moule.", 1, 4, 0.9),
              quote("Une autre pâte.", 2, 0, 0.85), quote("Encore une autre.", 3, 2, 0.8),
              quote("Elle a été trop travaillée.", 1, 5, 0.5)]
    chosen = choose_quotes(ranked, {"answer_sentences": 3, "answer_chars": 700})
    # the follower (passage 1, position 5) ranks last but is quoted right after the sentence it continues
    assert [(q.passage, q.position) for q in chosen] == [(1, 4), (1, 5), (2, 0)]
    only_two = choose_quotes(ranked, {"answer_sentences": 2, "answer_chars": 700})
    assert [q.text for q in only_two] == [ranked[0].text, "Elle a été trop travaillée."]


def test_citations_are_removed_for_speech():
    assert without_citations("Préchauffez le four. [2] Cuire 40 minutes. [1, 3]") == "Préchauffez le four. Cuire 40 minutes."
    assert not_found("What is the capital of Australia?") == "The documents do not contain this information."
