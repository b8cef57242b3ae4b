"""Answer units of a passage and their ranking against a question."""
from types import SimpleNamespace

import numpy as np

from dllab.rag.sentences import load_vectors, quotable, rank_quotes, update_vectors

PASSAGE = (
    "fin de la phrase précédente, coupée par le chevauchement.\n"
    "La recette pas à pas\n"
    "Étape 1 : préparer la pâte brisée. Mélangez la farine et le beurre.\n"
    "Ce document présente la recette classique.\n"
    "Pour la pâte brisée :\n"
    "• 250 g de farine\n"
    "• 125 g de beurre\n"
    "Peut-on congeler la tarte ?\n"
    "Oui, elle se garde trois mois au congélateur."
)


def test_units_drop_headings_fragments_and_sentences_about_the_document():
    units = quotable(PASSAGE)
    texts = [text for text, _ in units]
    assert texts[0] == "Étape 1 : préparer la pâte brisée."  # the overlap fragment and the heading are gone
    assert "Mélangez la farine et le beurre." in texts
    assert not any("Ce document" in t or t == "La recette pas à pas" for t in texts)


def test_a_list_is_one_unit_with_its_introduction_and_questions_are_flagged():
    units = dict(quotable(PASSAGE))
    assert units["Pour la pâte brisée : 250 g de farine ; 125 g de beurre."] is False
    assert units["Peut-on congeler la tarte ?"] is True
    assert units["Oui, elle se garde trois mois au congélateur."] is False


class Cosines:
    """A stand-in retriever whose cosines are given per unit text."""

    def __init__(self, table: dict[str, float]):
        self.table = table

    def sentence_cosines(self, question, texts):
        return np.array([self.table.get(t, 0.1) for t in texts])


def test_ranking_is_by_cosine_and_questions_are_never_quoted():
    hits = [SimpleNamespace(text="Peut-on congeler la tarte ?\nOui, trois mois au congélateur.\nUne autre phrase sans rapport."),
            SimpleNamespace(text="La tarte se congèle bien. Une autre phrase sans rapport.")]
    retriever = Cosines({"Peut-on congeler la tarte ?": 0.9, "Oui, trois mois au congélateur.": 0.3,
                         "La tarte se congèle bien.": 0.7})
    ranked = rank_quotes(retriever, "On peut congeler ?", hits)
    # the FAQ question lends its score to the first sentence of its answer
    assert [(q.text, q.passage, q.score) for q in ranked[:2]] == [
        ("Oui, trois mois au congélateur.", 1, 0.9), ("La tarte se congèle bien.", 2, 0.7)]
    assert all(not q.text.endswith("?") for q in ranked)
    assert [q.text for q in ranked].count("Une autre phrase sans rapport.") == 1  # a repeated sentence is quoted once


def test_sentence_vectors_are_stored_and_only_new_units_embedded(tmp_path):
    embedded = []

    class Model:
        def get_embedding_dimension(self):
            return 3

        def encode(self, texts, **_):
            embedded.extend(texts)
            return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)

    first = update_vectors(tmp_path, ["Une phrase assez longue. Deux phrases ici, pas une."], Model, 8)
    assert first == {"sentences": 2, "sentences_added": 2} and embedded == ["Une phrase assez longue.", "Deux phrases ici, pas une."]
    second = update_vectors(tmp_path, ["Une phrase assez longue. Une nouvelle phrase, la deuxième."], Model, 8)
    assert second == {"sentences": 2, "sentences_added": 1} and embedded[-1] == "Une nouvelle phrase, la deuxième."
    stored = load_vectors(tmp_path)
    assert set(stored) == {"Une phrase assez longue.", "Une nouvelle phrase, la deuxième."}  # the removed unit is gone
    assert stored["Une phrase assez longue."].tolist() == [24.0, 1.0, 0.0]  # kept from the first run, not embedded again
    assert not list(tmp_path.glob("*.tmp"))
