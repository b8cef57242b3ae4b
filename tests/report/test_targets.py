"""The report judges: every target shown with a mark computed from the numbers, a first screen that counts
them, and the page's language and links (web/index.html opens a section, the report leads back)."""
import json
import re
from pathlib import Path

import pytest

from dllab.report import targets
from dllab.report.build import build
from dllab.report.document import Mark, to_html, to_markdown
from tests.report.fixtures import MACHINE, make_reports

PARAMS = {"mnist": {"hidden": [512, 512], "lr": 0.001}, "rag": {}, "chat": {}}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def reports(tmp_path):
    return make_reports(tmp_path)


def set_metric(reports: Path, file: str, **values) -> None:
    path = reports / file
    path.write_text(json.dumps({**json.loads(path.read_text()), **values}))


def row(markdown: str, label: str) -> str:
    """The Markdown table row that starts with this measure."""
    found = [line for line in markdown.splitlines() if line.startswith(f"| {label} |")]
    assert len(found) == 1, (label, found)
    return found[0]


def first_screen(markdown: str) -> str:
    return markdown[markdown.index("## En bref"):markdown.index('<a id="mnist">')]


def test_a_missed_target_is_marked_missed_and_a_met_one_met(reports):
    met = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert row(met, "précision sur les 10 000 images de test").endswith("| ≥ 98,3\u00a0% | ✓ atteint |")

    set_metric(reports, "mnist/metrics.json", test_accuracy=0.90)
    doc = build(reports, PARAMS, MACHINE)
    missed = to_markdown(doc, relative_to=reports)
    assert row(missed, "précision sur les 10 000 images de test") == \
        "| précision sur les 10 000 images de test | 90\u00a0% | ≥ 98,3\u00a0% | ✗ manqué |"
    assert row(missed, "durée d'entraînement").endswith("| 61,5 s | ≤ 90 s | ✓ atteint |")  # still met
    # The page marks it in words and with a class, not by colour alone.
    assert re.search(r'<td>90\u00a0%</td><td>≥ 98,3\u00a0%</td><td class="missed">✗ manqué</td>', to_html(doc))

    # The first screen counts one target fewer met and names the miss on the digits' line.
    count = re.compile(r"(\d+) objectifs atteints sur (\d+)")
    (before_met, before_all), (after_met, after_all) = (map(int, count.search(first_screen(m)).groups())
                                                        for m in (met, missed))
    assert after_all == before_all and after_met == before_met - 1
    digits = next(line for line in first_screen(missed).splitlines() if line.startswith("- [Chiffres (MNIST)](#mnist)"))
    assert "90\u00a0% des 10 000 chiffres" in digits and "Keras" in digits
    assert "**✗ manqué** : précision sur les 10 000 images de test, 90\u00a0% pour un objectif ≥ 98,3\u00a0%" in digits


def test_every_target_of_the_report_is_judged_and_counted_on_the_first_screen(reports):
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    marks = re.findall(r"\| (✓ atteint|✗ manqué|– non mesuré) \|$", markdown, flags=re.M)
    judged = sum(len(group) for group in (targets.MNIST, targets.RAG, targets.ANSWERS, targets.CHECK,
                                         targets.PIPELINE)) + 2 * len(targets.LM) + 6  # per model; speech: 2 voices
    assert len(marks) == judged
    met = marks.count("✓ atteint")
    assert f"{met} objectifs atteints sur {judged}, {marks.count('✗ manqué')} manqués." in first_screen(markdown)
    # The fixtures miss: hit@1 0.5 (≥ 0.80), the check's declined 0.5 (≥ 0.70), the question voice's WER 0.25.
    assert row(markdown, "hit@1 : le bon passage en premier").endswith("| 50\u00a0% | ≥ 80\u00a0% | ✗ manqué |")
    assert row(markdown, "jeu non touché : questions hors sujet déclinées (declined)").endswith("✗ manqué |")
    assert "la voix des questions (0.5*ff_siwis+0.5*am_echo) : taux d'erreur sur les mots | 0,25 | ≤ 0,2 | ✗ manqué" \
        in markdown


def test_a_measure_without_its_record_is_not_measured_rather_than_met(reports):
    (reports / "pipeline/mnist_train.json").unlink()
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert row(markdown, "durée d'entraînement") == "| durée d'entraînement | – | ≤ 90 s | – non mesuré |"
    assert re.search(r"^\d+ objectifs atteints sur \d+, \d manqués?, 1 non mesuré\.", first_screen(markdown).split("\n\n")[1])


def test_targets_compare_in_their_direction_including_the_bound():
    at_least, at_most = targets.Target(0.8, at_least=True), targets.Target(0.2)
    assert [at_least.mark(v).met for v in (0.79, 0.8, 0.81, None)] == [False, True, True, None]
    assert [at_most.mark(v).met for v in (0.19, 0.2, 0.21, None)] == [True, True, False, None]
    assert Mark(False).text == "✗ manqué" and Mark(True).css == "met"


def test_the_language_model_target_is_in_nats_on_the_loss_per_character_and_the_units_are_said(reports):
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert row(markdown, "lstm : perte par caractère sur le test, en nats (test_loss_per_char)").endswith(
        "| 1,73 nats | ≤ 1,9 nats | ✓ atteint |")
    assert "1 nat = 1/ln 2 ≈ 1,443 bit" in markdown and "vaut 2,74 bits par caractère" in markdown
    set_metric(reports, "lm/metrics.json", lstm={**json.loads((reports / "lm/metrics.json").read_text())["lstm"],
                                                  "test_loss_per_char": 1.95})
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert row(markdown, "lstm : perte par caractère sur le test, en nats (test_loss_per_char)").endswith("✗ manqué |")


def test_the_report_is_in_french_folds_its_parameters_and_leads_back_to_the_page(reports):
    page = to_html(build(reports, PARAMS, MACHINE))
    assert page.startswith('<!DOCTYPE html>\n<html lang="fr">')
    back = re.search(r'<a id="back" class="back" href="([^"]+)">([^<]+)</a>', page)
    assert back and back.group(1) == "/" and "Retour" in back.group(2)
    assert page.index('id="back"') < page.index("<h1>") < page.index('<h2 id="en-bref">') < page.index('<h2 id="mnist">')
    # Every parameter table is folded: each params.yaml caption sits inside a <details>.
    folded = re.findall(r"<details>.*?</details>", page, flags=re.S)
    captions = re.findall(r"<caption>params.yaml : (\w+)</caption>", page)
    assert set(captions) >= {"mnist", "tokenizer", "lstm", "transformer", "rag", "llm", "chat", "tts", "stt"}
    assert all(any(f"<caption>params.yaml : {c}</caption>" in d for d in folded) for c in captions)
    for english in ("Language models", "Knowledge base", "Chatbot answers", "training seconds", ">missed<"):
        assert english not in page


def test_each_report_link_of_the_page_leads_to_a_section_of_the_report(reports):
    index = (ROOT / "web/index.html").read_text(encoding="utf-8")
    anchors = re.findall(r'href="/report#([\w-]+)"', index)
    assert {"mnist", "lm", "rag", "chat"} <= set(anchors)  # digits, language models, search, chatbot
    for panel in ("panel-chat", "panel-digits", "panel-lm", "panel-search"):  # one link inside each tab's panel
        body = index[index.index(f'id="{panel}"'):]
        body = body[:body.index("</section>\n\n") if "</section>\n\n" in body else len(body)]
        assert 'href="/report#' in body, panel
    page = to_html(build(reports, PARAMS, MACHINE))
    for anchor in anchors:
        assert f'<h2 id="{anchor}">' in page, anchor
    assert 'href="/report"' in index  # the tab bar still opens the report's top


def test_the_same_inputs_give_the_same_bytes(reports):
    def page() -> str:  # an Ogg stream's serial number is random (the clips' encoding, not the report's)
        return re.sub(r"data:audio/ogg;base64,[^\"]+", "", to_html(build(reports, PARAMS, MACHINE)))

    assert page() == page()
    assert to_markdown(build(reports, PARAMS, MACHINE), reports) == to_markdown(build(reports, PARAMS, MACHINE), reports)
