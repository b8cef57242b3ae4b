"""Document structure from small texts: headings and sections, steps, lists, FAQ pairs, from .txt, .md and PDF."""
from pathlib import Path

from dllab.rag.chunking import chunk_document
from dllab.rag.documents import Document, Page, clean_text, load_document
from dllab.rag.sentences import units
from dllab.rag.structure import HEADING, INTRO, ITEM, QUESTION, STEP, TEXT, blocks, is_heading, step_number

RECIPE = """Une recette simple

Étape 1 : préparer la pâte. Mélangez la farine et le beurre.

Étape 2 : cuire. Enfournez pour 30 minutes.

Pour la garniture :

• deux pommes

• du sucre

Peut-on la congeler ?

Oui. Elle se garde trois mois au congélateur.
"""


def test_each_paragraph_gets_its_role_and_section():
    found = blocks(clean_text(RECIPE))
    assert [b.role for b in found] == [HEADING, STEP, STEP, INTRO, ITEM, ITEM, QUESTION, TEXT]
    assert [b.number for b in found if b.role == STEP] == [1, 2]
    assert {b.section for b in found[:6]} == {"Une recette simple"}
    assert found[-1].section == "Peut-on la congeler ?" and found[-1].section_id == found[-2].section_id == 1


def test_headings_numbered_or_not_and_steps_numbered_or_not():
    assert is_heading("2. CHOISIR LES POMMES") and is_heading("La recette pas à pas")
    assert not is_heading("Préchauffez le four à 190 °C.") and not is_heading("Pour la pâte :")
    assert step_number("3. Mélangez la farine et le sucre.") == 3 and step_number("Step 2: bake it.") == 2
    assert step_number("Étape 12 : servir.") == 12 and step_number("2. CHOISIR LES POMMES") is None
    assert step_number("250 g de farine.") is None


def test_markdown_headings_and_list_lines_stay_paragraphs_of_their_own(tmp_path):
    (tmp_path / "r.md").write_text("# Recette\nDu texte ici.\n## Étapes\n1. Mélangez tout.\n2. Cuisez vingt "
                                   "minutes.\n- un item\n- un autre item\n", encoding="utf-8")
    text = load_document(tmp_path / "r.md", tmp_path).pages[0].text
    roles = [(b.role, b.text) for b in blocks(text)]
    assert roles == [(HEADING, "Recette"), (TEXT, "Du texte ici."), (HEADING, "Étapes"),
                     (STEP, "1. Mélangez tout."), (STEP, "2. Cuisez vingt minutes."),
                     (ITEM, "- un item"), (ITEM, "- un autre item")]


def test_wrapped_lines_still_join_but_two_bullets_on_one_line_part():
    assert clean_text("Une phrase qui\ncontinue ici.") == "Une phrase qui continue ici."
    assert clean_text("• Tatin : renversée. • Normande : à la crème.").split("\n\n") == [
        "• Tatin : renversée.", "• Normande : à la crème."]


def test_chunks_never_span_two_sections_and_know_theirs():
    doc = Document("r.txt", [Page(None, clean_text(RECIPE))], "h")
    chunks = chunk_document(doc, 600, 100)
    assert [(c.section, c.role) for c in chunks] == [("Une recette simple", "steps"),
                                                     ("Peut-on la congeler ?", "faq")]
    assert chunks[0].section_id == 0 and chunks[1].section_id == 1
    assert not chunks[1].text.startswith("•")  # no overlap carried over from the previous section


def test_a_section_goes_on_over_a_page_break():
    doc = Document("r.pdf", [Page(1, "Les étapes\n\nÉtape 1 : couper."), Page(2, "Étape 2 : cuire au four.")], "h")
    chunks = chunk_document(doc, 600, 100)
    assert [(c.page, c.section, c.section_id) for c in chunks] == [(1, "Les étapes", 0), (2, "Les étapes", 0)]


def test_a_short_sentence_is_never_a_unit_alone():
    found = units("Peut-on la congeler ?\nOui. Elle se garde trois mois au congélateur.\nÉtape 2 : cuire. Enfournez.")
    assert [u.text for u in found] == ["Peut-on la congeler ?", "Oui. Elle se garde trois mois au congélateur.",
                                       "Étape 2 : cuire. Enfournez."]
    assert found[0].asks and (found[2].role, found[2].step) == (STEP, 2)


def test_pdf_text_keeps_the_same_structure(tmp_path):
    from tests.rag.conftest import make_pdf

    page = ("Une recette simple\n"
            "Étape 1 : préparer la pâte. Mélangez la farine, le beurre froid coupé en dés et une pincée de sel "
            "du bout des doigts jusqu'à obtenir une texture de sable.\n"
            "Étape 2 : cuire. Enfournez pour trente minutes dans le bas du four bien chaud.\n"
            "Pour la garniture :\n- deux pommes\n- du sucre\n"
            "Peut-on la congeler ?\nOui. Elle se garde trois mois au congélateur.")
    doc = load_document(make_pdf(tmp_path / "r.pdf", [page]), tmp_path)
    roles = [b.role for b in blocks(doc.pages[0].text)]
    assert roles == [HEADING, STEP, STEP, INTRO, ITEM, ITEM, QUESTION, TEXT]


def test_the_committed_pdf_has_its_recipe_steps_and_its_table_of_variants():
    doc = load_document(Path(__file__).resolve().parents[2] / "data/rag/document.pdf",
                        Path(__file__).resolve().parents[2] / "data/rag")
    chunks = chunk_document(doc, 600, 100)
    steps = [u.step for c in chunks for u in units(c.text) if u.role == STEP]
    assert steps == sorted(set(steps)) and len(steps) >= 5  # every step once, in order
    items = [c for c in chunks if c.role == "list" and "variantes" in c.section]
    assert sum(u.role == ITEM for c in items for u in units(c.text)) >= 5
