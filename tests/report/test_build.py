import re
import shutil

import pytest

from dllab.errors import DataError
from dllab.report.build import build
from dllab.report.document import Document, Paragraph, Table, to_html, to_markdown
from tests.report.fixtures import MACHINE, make_reports

# The sections the text quotes (rag, chat) are given empty: their models' defaults fill them.
PARAMS = {"mnist": {"hidden": [512, 512], "lr": 0.001}, "rag": {}, "chat": {}}


@pytest.fixture()
def reports(tmp_path):
    return make_reports(tmp_path)


def test_report_has_every_section_with_embedded_figures(reports):
    doc = build(reports, PARAMS, MACHINE)
    page = to_html(doc)
    for anchor, section in [("mnist", "MNIST"), ("lm", "Modèles de langue"), ("rag", "Base de connaissances"),
                            ("chat", "Les réponses du chatbot"), ("serve", "Chatbot vocal"),
                            ("speech", "Les voix"), ("pipeline", "Pipeline")]:
        assert re.search(rf'<h2 id="{anchor}">{section}', page), section
    assert page.count('src="data:image/png;base64,') == 6  # self-contained: no file or network links
    assert "http://" not in page and "https://" not in page
    assert "98,76\u00a0%" in page and "mnist.lr" in page and "Test CPU" in page and "Keras" in page
    assert "Le transformer est le meilleur ici" in page and "nanoGPT" in page
    assert "lstm says &lt;b&gt;hi&lt;/b&gt;" in page
    assert "✓ document.pdf:3 0,700" in page and "manquée" in page and "Une pâte &lt;script&gt;" in page
    # The answers: their measures against the targets, the misses shown as text, the calibration.
    assert "réponses correctes (correct)" in page and "≥ 90\u00a0%" in page
    assert "Étalez la &lt;b&gt;pâte&lt;/b&gt;. [1]" in page
    assert "chat.decline_below = 0.84" in page and "0.85" in page and "Cury" in page
    assert "au plus 3 phrases" in page and "(plongements e5-multilingual)" in page  # the models' defaults
    chat = page[page.index('<h2 id="chat"'):page.index('<h2 id="serve"')]
    assert chat.index("Les objectifs") < chat.index("jeu non touché)") < chat.index("mot pour mot") \
        < chat.index("par type de question")
    assert "<td>procedure</td><td>1</td><td>0</td>" in chat
    # calibrated on the pipeline's set, checked on the untouched one, side by side, the check judged too
    assert re.search(r"set_b.yaml \(jeu non touché\)</td><td>3</td><td>2</td><td>0,6667</td><td>0,5</td>", chat)
    assert re.search(r"jeu non touché : questions hors sujet déclinées \(declined\)</td><td>50\u00a0%</td>"
                     r"<td>≥ 70\u00a0%</td><td class=\"missed\">✗ manqué", chat)
    assert "chat.judge_below = 0.15" in chat
    # The voices: word error rates against their targets (the question voice's 0.25 misses), a player per clip.
    assert "Les voix : intelligibilité" in page and "0.5*ff_siwis+0.5*am_echo" in page
    assert "Une &lt;i&gt;tarte" in page
    assert re.search(r"la voix des questions \(0.5\*ff_siwis\+0.5\*am_echo\) : taux d'erreur sur les mots</td>"
                     r"<td>0,25</td><td>≤ 0,2</td><td class=\"missed\">✗ manqué", page.replace("&#39;", "'"))
    assert page.count('<audio controls preload="none" src="data:audio/ogg;base64,') == 1
    markdown = to_markdown(doc, relative_to=reports)
    assert ("[▶ La voix des réponses dit la première réponse du banc d'essai](speech/clips/answer_voice-answer.wav)"
            in markdown)
    assert "![Matrice de confusion sur le test](mnist/figures/confusion_matrix.png)" in markdown
    assert "| mnist_train | 70,1 | 900 |" in markdown
    assert "| durée d'entraînement | 61,5 s | ≤ 90 s | ✓ atteint |" in markdown
    assert "| dernière indexation (s) | 11 |" in markdown


def test_the_lm_comparison_says_which_text_is_which_and_compares_at_equal_steps_and_time(reports):
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert "un texte de test, qui ne sert à rien d'autre" in markdown and "texte de validation qui choisit" in markdown
    assert "| à pas égaux (100) | 2,4 | 2,5 | lstm |" in markdown
    assert "| à temps égal (100 s) | 2,6 | 2,5 | transformer |" in markdown  # the LSTM at 100 s: its step-50 value
    assert "aucun modèle n'a été coupé par une limite de temps" in markdown


def test_a_model_cut_by_its_time_cap_is_flagged(reports):
    import json

    metrics = json.loads((reports / "lm/metrics.json").read_text())
    metrics["lstm"]["stopped_early"] = "time cap"
    (reports / "lm/metrics.json").write_text(json.dumps(metrics))
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert "Attention : le lstm s'est arrêté au pas 100 sur sa limite de temps (lstm.max_seconds)" in markdown


def test_missing_metrics_file_is_named_with_the_stage_to_run(reports):
    (reports / "mnist/metrics.json").unlink()
    with pytest.raises(DataError, match=r"reports/mnist/metrics.json is missing: run `dvc repro mnist_evaluate`"):
        build(reports, PARAMS, MACHINE)
    shutil.rmtree(reports / "mnist/figures")
    (reports / "mnist/metrics.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        build(reports, PARAMS, MACHINE)


class FolderBaseline:
    """A baseline read from a folder laid out like a repository (the real one reads a commit through DVC)."""

    name = "commit 0123456789"

    def __init__(self, root):
        self.root = root

    def read(self, path, missing_ok=False):
        file = self.root / path
        return file.read_text(encoding="utf-8") if file.is_file() or not missing_ok else None


def test_an_experiment_is_compared_with_its_baseline_on_the_changed_models_only(reports, tmp_path):
    import yaml

    from tests.report.fixtures import history, record, write

    base = tmp_path / "baseline"
    (base / "params.yaml").parent.mkdir(parents=True, exist_ok=True)
    (base / "params.yaml").write_text(yaml.safe_dump({"lstm": {"hidden": 256}, "transformer": {"dim": 128}}))
    write(base / "reports/lm/metrics.json", {"lstm": {"test_bpc": 2.7}, "transformer": {"test_bpc": 2.4}})
    history("lstm", base / "reports", [3.1, 2.8, 2.6])  # slower per step than this run's 3.0, 2.6, 2.4...
    record(base / "reports", "lstm_train", 110.0, eval_seconds=[0.0, 40.0, 100.0])  # ...but 3 times faster
    params = {**PARAMS, "lstm": {"hidden": 512}, "transformer": {"dim": 128}}

    markdown = to_markdown(build(reports, params, MACHINE, baseline=FolderBaseline(base)), relative_to=reports)
    assert "### Expérience : cette exécution face à commit 0123456789" in markdown
    assert "| lstm.hidden | 256 | 512 |  |" in markdown
    assert "| bits par caractère sur le test | 2,7 | 2,5 | cette exécution |" in markdown
    assert "| bits par caractère de validation à pas égaux (100) | 2,6 | 2,4 | cette exécution |" in markdown
    assert "| bits par caractère de validation à temps égal (100 s) | 2,6 | 2,6 | la référence |" in markdown  # ours at 90 s: 2.6
    assert "le transformer |" not in markdown  # same params: not compared

    (base / "reports/pipeline/lstm_train.json").unlink()  # no times: only the equal-steps row
    markdown = to_markdown(build(reports, params, MACHINE, baseline=FolderBaseline(base)), relative_to=reports)
    assert "à pas égaux (100)" in markdown and "à temps égal" not in markdown.split("### Expérience")[1]
    same = to_markdown(build(reports, {**params, "lstm": {"hidden": 256}}, MACHINE, baseline=FolderBaseline(base)),
                       relative_to=reports)
    assert "Aucun paramètre des modèles de langue ne diffère de commit 0123456789" in same


def test_a_quoted_value_is_checked_and_named_with_its_file(reports):
    from dllab.errors import ParamError

    with pytest.raises(ParamError, match=r"^other.yaml: chat.answer_sentences = 0 is not allowed"):
        build(reports, {**PARAMS, "chat": {"answer_sentences": 0}}, MACHINE, source="other.yaml")
    with pytest.raises(ParamError, match=r"^other.yaml: section 'rag' is missing"):
        build(reports, {"mnist": PARAMS["mnist"], "chat": {}}, MACHINE, source="other.yaml")


def test_the_baseline_must_be_a_full_commit_hash():
    from dllab.errors import ParamError
    from dllab.report.config import ReportParams

    assert ReportParams.from_mapping({"lm_baseline": ""}).lm_baseline == ""
    assert ReportParams.from_mapping({"lm_baseline": "a" * 40}).lm_baseline == "a" * 40
    for moving in ["HEAD", "main", "abc1234"]:
        with pytest.raises(ParamError, match=r"report.lm_baseline = .* full commit hash .*git rev-parse HEAD"):
            ReportParams.from_mapping({"lm_baseline": moving})


def test_text_is_never_markup():
    doc = Document("<b>title</b>", [Paragraph("<script>alert(1)</script> and `dvc repro`"),
                                     Table(["<i>h</i>"], [["<img src=x onerror=alert(1)>"]])])
    page = to_html(doc)
    assert "<script>alert" not in page and "<img src=x" not in page and "<i>h</i>" not in page
    assert "&lt;script&gt;" in page and "<code>dvc repro</code>" in page
