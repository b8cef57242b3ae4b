import pytest

from dllab.errors import UserError
from dllab.speech.text import FIRST_CLAUSE_MIN_CHARS, FIRST_PIECE_MAX_CHARS, SentenceCutter, chunks, clean, speakable

LONG = ("Première phrase courte. Une deuxième phrase, un peu plus longue, avec des virgules, des incises "
        "et encore des mots pour dépasser la limite ! Troisième ? Quatrième: fin.\nNouveau paragraphe "
        "sans ponctuation finale " + "mot " * 60 + "anticonstitutionnellement" * 12)


@pytest.mark.parametrize("limit", [40, 80, 180, 1000])
def test_chunks_respect_the_limit_and_keep_every_word(limit):
    text = clean(LONG, 10_000)
    pieces = chunks(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    words = " ".join(pieces).split()
    if limit >= 300:  # the 300-character "word" is only truncated below its length
        assert words == text.split()
    else:
        assert words[:-1] == text.split()[:-1]


def test_short_sentences_are_grouped_and_long_ones_split_at_sentence_ends():
    assert chunks("Oui. Non. Peut-être.", 100) == ["Oui. Non. Peut-être."]
    assert chunks("Oui. Non. Peut-être.", 10) == ["Oui. Non.", "Peut-être."]
    assert chunks("Une phrase, puis une autre partie", 15) == ["Une phrase,", "puis une autre", "partie"]


def test_clean_removes_control_characters_and_extra_spaces():
    assert clean("  Bonjour\x00\x1b[31m   le\u200b monde \t\n\n\n Salut\r\n ", 100) == "Bonjour [31m le monde\nSalut"


def test_clean_drops_markdown_marks_but_keeps_words():
    text = "# Réponse\n**Paris** est la `capitale`, dit _le_ __guide__ (snake_case, 5 * 3)."
    assert clean(text, 500) == "Réponse\nParis est la capitale, dit le guide (snake_case, 5 3)."


@pytest.mark.parametrize("text", ["", "   ", "**", "# ", "\n\t \r\n", "\x00\x07", "\u200b"])
def test_nothing_to_say_is_a_user_error(text):
    with pytest.raises(UserError, match="no text to speak"):
        clean(text, 100)


def test_too_long_and_wrong_type_are_user_errors():
    with pytest.raises(UserError, match="at most 10 .*tts.max_chars"):
        clean("x" * 11, 10)
    with pytest.raises(UserError, match="must be a string"):
        clean(None, 10)


def test_a_streamed_text_is_cut_into_whole_sentences_as_it_arrives():
    cutter = SentenceCutter(300)
    said = [cutter.feed(piece) for piece in ["Bon", "jour.", " La tarte", " pèse 2.5 kg", " ! Vraiment ?", "\n",
                                             "Fin sans point"]]
    assert said == [[], [], ["Bonjour."], [], ["La tarte pèse 2.5 kg !"], ["Vraiment ?"], []]
    assert cutter.rest() == ["Fin sans point"] and cutter.rest() == []


def test_a_sentence_that_never_ends_is_cut_between_words_without_losing_any():
    words = [f"mot{i}" for i in range(200)]
    cutter = SentenceCutter(60)
    pieces = [sentence for word in words for sentence in cutter.feed(word + " ")] + cutter.rest()
    assert all(0 < len(p) <= 60 for p in pieces) and " ".join(pieces).split() == words
    assert len(pieces) > 10  # the first words are handed on long before the end


def test_speakable_means_a_letter_or_a_digit():
    assert speakable("Oui") and speakable("42") and speakable("**Tatin**") and speakable("苹果")
    assert not any(map(speakable, ["", "**", "\u200b", "\x00\x01", "… ?!", "# --"]))


def test_the_first_piece_of_an_answer_may_end_at_its_first_clause_so_its_clip_comes_sooner():
    text = "Préparez la pâte avec 250 g de farine, puis laissez-la reposer. Faites une compote, épaisse."
    cutter = SentenceCutter(300, first_clause=True)
    pieces = [p for ch in text for p in cutter.feed(ch)] + cutter.rest()
    assert pieces == ["Préparez la pâte avec 250 g de farine,", "puis laissez-la reposer.",
                      "Faites une compote, épaisse."]  # only the first sentence is cut at a comma
    short = SentenceCutter(300, first_clause=True)
    assert short.feed("Oui, la tarte se garde. ") == ["Oui, la tarte se garde."]  # "Oui," is too short a clip
    assert SentenceCutter(300).feed(text) == ["Préparez la pâte avec 250 g de farine, puis laissez-la reposer."]


def test_a_long_first_clause_is_cut_before_a_phrase_so_the_first_clip_stays_short():
    text = "Une tarte se garde deux jours à température ambiante sous une cloche, ou quatre au frais."
    at_once = SentenceCutter(300, first_clause=True)
    whole = at_once.feed(text + " ") + at_once.rest()
    streamed = SentenceCutter(300, first_clause=True)
    pieces = [p for ch in text + " " for p in streamed.feed(ch)] + streamed.rest()
    assert pieces == whole and " ".join(pieces) == text  # the same cut however the text arrives, no word lost
    first = pieces[0]
    assert len(first) <= FIRST_PIECE_MAX_CHARS and first == "Une tarte se garde deux jours"
    # with no phrase word in reach, it still never ends on a word that leans on the next (« à », « de »...)
    cutter = SentenceCutter(300, first_clause=True)
    first, *rest = cutter.feed("La Tatin est née à l'hôtel Tatin de Lamotte-Beuvron en Sologne vers 1880. ")
    assert first == "La Tatin est née à l'hôtel Tatin" and len(first) <= FIRST_PIECE_MAX_CHARS
    # nor leaves a tail of a word or two to be said alone
    cutter = SentenceCutter(300, first_clause=True)
    first, tail = cutter.feed("Quelles sont les différentes variantes de la tarte ? ")
    assert first == "Quelles sont les différentes" and len(tail) >= FIRST_CLAUSE_MIN_CHARS
