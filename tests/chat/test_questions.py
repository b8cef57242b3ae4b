"""What a question asks for, from its form alone, in French and English."""
import pytest

from dllab.chat.questions import (LIST, OTHER, PROCEDURE, QUANTITY, WHY, YES_NO, is_greeting, question_kind,
                                  standalone, states_number, subject_words)


@pytest.mark.parametrize("question, kind", [
    ("Comment faire une tarte aux pommes ?", PROCEDURE),
    ("comment on fait la pâte brisée", PROCEDURE),
    ("Quelles sont les étapes de la recette ?", PROCEDURE),
    ("How do I make an apple pie?", PROCEDURE),
    ("Quelles sont les différentes variantes de la tarte aux pommes ?", LIST),
    ("Donne-moi les secrets d'une tarte réussie", LIST),
    ("What are the main kinds of tart?", LIST),
    ("De quoi ai-je besoin pour une tatin ?", LIST),  # what one needs: a list of things
    ("What do I need for the crust?", LIST),
    ("Combien de farine pour la pâte ?", QUANTITY),
    ("a quelle temperature je mets le four", QUANTITY),
    ("How long does it bake?", QUANTITY),
    ("Peut-on congeler la tarte ?", YES_NO),
    ("Can I freeze it?", YES_NO),
    ("Pourquoi piquer le fond ?", WHY),
    ("C'est quoi une tarte fine ?", WHY),
    ("Quel est le secret d'une bonne tarte ?", OTHER),
])
def test_the_kind_comes_from_the_question_s_form(question, kind):
    assert question_kind(question) == kind


def test_greetings_and_single_words_are_not_questions_yet():
    assert is_greeting("Bonjour !") and is_greeting("salut, ça va ?") and is_greeting("Hello") and is_greeting("tatin")
    assert not is_greeting("Bonjour, comment faire une tarte ?") and not is_greeting("Et la Tatin ?")


def test_a_short_follow_up_is_read_with_the_previous_question():
    history = [{"role": "user", "content": "Quel est le secret d'une tarte ?"}, {"role": "assistant", "content": "…"}]
    assert standalone("Et pour la tatin ?", history) == "Quel est le secret d'une tarte ? Et pour la tatin ?"
    assert standalone("Et pour la tatin ?", []) == "Et pour la tatin ?"
    assert standalone("Combien de sucre faut-il ?", history) == "Combien de sucre faut-il ?"


def test_subject_words_leave_out_the_words_that_ask():
    assert subject_words("Comment faire une pizza margherita ?") == ["pizza", "margherita"]
    assert subject_words("Quelles sont les différentes variantes de la tarte ?") == ["variantes", "tarte"]
    # « combien de temps », « quelle quantité de » ask for a number: their nouns name no subject
    assert subject_words("combien de temps la pâte doit reposer au frigo") == ["pate", "reposer", "frigo"]
    assert subject_words("Quelle quantité de sucre pour le caramel ?") == ["sucre", "caramel"]
    assert subject_words("quelles pommes prendre pour une tatin") == ["pommes", "tatin"]  # choosing asks
    assert subject_words("De quoi j'ai besoin comme ustensiles ?") == ["ustensiles"]


def test_numbers_in_digits_words_or_units():
    assert states_number("Cuire 40 minutes.") and states_number("deux à trois mois") and states_number("une heure")
    assert not states_number("Une tarte se sert tiède, avec de la crème.")
