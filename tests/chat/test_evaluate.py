"""The answer metrics' own definitions: a known wrong answer must score as wrong."""
import pytest

from dllab.chat.evaluate import (Answered, answers_markdown, calibration, check_metrics, is_correct, is_declined, is_supported,
                                 metrics, normalise, per_question, states, suggested_threshold,
                                 unknown_french_words)
from dllab.rag.evaluate import Question

FLOUR = Question("combien de farine ?", [{"file": "a.txt", "passage": "250 g"}], ["250 g de farine"])
OVEN = Question("four ?", [{"file": "a.txt", "passage": "190"}], ["190 °C", "180 et 200 degrés"])
PIE = Question("cuisson de la normande ?", [{"file": "a.txt", "passage": "25"}], ["25 minutes", "180 °C"], need=2)
PIZZA = Question("Comment faire une pizza ?", [], out_of_scope=True)
PASSAGE = "Pour la pâte, comptez 250 grammes de farine. Préchauffez le four à 190 °C."


def answered(question, answer, declined=False, evidence=0.9, seconds=0.2):
    return Answered(question, answer, [PASSAGE], [], declined, evidence, seconds, seconds * 2)


@pytest.mark.parametrize("fact, answer", [
    ("190 °C", "Cuire à 190°C."), ("190 °C", "à 190 degrés Celsius"), ("250 g de farine", "250 grammes de farine"),
    ("une heure", "reposer 1 heure"), ("sœurs Tatin", "les SOEURS tatin"), ("1,5 kg", "1.5 kilogrammes"),
    ("crème fraîche", "creme fraiche"),
])
def test_normalising_accepts_the_same_fact_written_differently(fact, answer):
    assert states(answer, fact)


@pytest.mark.parametrize("fact, answer", [("1381", "en 13810"), ("190 °C", "à 180 °C"), ("une heure", "deux heures"),
                                          ("250 g de farine", "125 g de beurre, 250 g de sucre")])
def test_a_different_fact_is_not_stated(fact, answer):
    assert not states(answer, fact)


def test_a_known_wrong_answer_scores_as_wrong():
    assert not is_correct(answered(FLOUR, "Il faut 300 g de farine et 125 g de beurre. [1]"))
    assert is_correct(answered(FLOUR, "Comptez 250 grammes de farine. [1]"))
    assert is_correct(answered(OVEN, "Entre 180 et 200 degrés. [2]"))  # any one listed fact
    assert not is_correct(answered(PIE, "Prolongez la cuisson de 25 minutes."))  # needs both facts
    assert is_correct(answered(PIE, "Prolongez la cuisson de 25 minutes à 180 °C."))
    assert not is_correct(answered(FLOUR, "250 g de farine", declined=True))  # declining is never correct


def test_faithfulness_accepts_quotes_and_rejects_invented_sentences():
    assert is_supported("Préchauffez le four à 190 °C.", [PASSAGE])
    assert is_supported("comptez 250 grammes de farine", [PASSAGE])
    assert not is_supported("La tarte aux pommes est une pomme de 28 centimètres pour les compétences.", [PASSAGE])


def test_declining_is_recognised_in_the_question_language():
    assert is_declined("Les documents ne contiennent pas cette information.", "Comment faire une pizza ?")
    assert not is_declined("Préchauffez le four à 190 °C. [1]", "Comment faire une pizza ?")


def test_the_french_dictionary_accepts_french_and_names_the_rest():
    assert unknown_french_words(["La", "tarte", "est", "délicieuse", "pâte", "brisée"]) == set()
    assert unknown_french_words(["tartte", "délicieuze", "pomme"]) == {"tartte", "délicieuze"}


def test_metrics_count_each_definition():
    results = [answered(FLOUR, "Comptez 250 grammes de farine. [1]", seconds=0.1),
               answered(OVEN, "La tarte est une pomme de 28 centimètres qui utilise une étoffe. [1]", seconds=0.3),
               answered(PIE, "Les documents ne contiennent pas cette information.", declined=True, evidence=0.5),
               answered(PIZZA, "Les documents ne contiennent pas cette information.", declined=True, evidence=0.4)]
    m = metrics(results)
    assert (m["answerable"], m["out_of_scope"]) == (3, 1)
    assert m["correct"] == round(1 / 3, 4) and m["declined"] == 1.0 and m["wrongly_declined"] == round(1 / 3, 4)
    assert m["faithful"] == 0.5  # of the two answered sentences, the invented one is not in the passage
    assert m["french_ok"] == 1.0 and m["first_word_s_p50"] == 0.2  # p50 of 0.1, 0.3, 0.2, 0.2
    table = answers_markdown(per_question(results), {**m, "answer_mode": "quote", "model": "m", "decline_below": 0.6})
    assert table.index("wrongly declined") < table.index("| right |")  # the misses come first


def test_calibration_and_the_suggested_threshold():
    results = [answered(FLOUR, "x", evidence=0.9), answered(OVEN, "x", evidence=0.8),
               answered(PIE, "x", evidence=0.6), answered(PIZZA, "x", evidence=0.7)]
    rows = calibration(results)
    at = {row["threshold"]: row for row in rows}
    assert at[0.65] == {"threshold": 0.65, "declined": 0.0, "wrongly_declined": round(1 / 3, 4)}
    assert at[0.75] == {"threshold": 0.75, "declined": 1.0, "wrongly_declined": round(1 / 3, 4)}
    assert suggested_threshold(rows, most_wrongly_declined=0.0) == 0.0
    assert suggested_threshold(rows, most_wrongly_declined=0.34) == 0.75


def test_the_check_sets_measures_name_their_file_and_count_the_judged_questions():
    results = [answered(FLOUR, "Comptez 250 grammes de farine. [1]"),
               answered(OVEN, "Les documents ne contiennent pas cette information.", declined=True),
               answered(PIZZA, "Pizza napolitaine. [1]")]
    results[1].judged, results[2].judged = 0.05, 0.4  # the judge read two of them
    check = check_metrics(results, "data/eval/other_authors/set_b.yaml")
    assert check["questions_file"] == "data/eval/other_authors/set_b.yaml" and check["judged"] == 2
    assert (check["correct"], check["wrongly_declined"], check["declined"]) == (0.5, 0.5, 0.0)
    assert "notebook" not in check and "unknown_words" not in check
