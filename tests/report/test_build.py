import re
import shutil

import pytest

from dllab.errors import DataError
from dllab.report.build import build
from dllab.report.document import Document, Paragraph, Table, to_html, to_markdown
from tests.report.fixtures import MACHINE, make_reports

PARAMS = {"mnist": {"hidden": [512, 512], "lr": 0.001}}


@pytest.fixture()
def reports(tmp_path):
    return make_reports(tmp_path)


def test_report_has_every_section_with_embedded_figures(reports):
    doc = build(reports, PARAMS, MACHINE)
    page = to_html(doc)
    for section in ["MNIST", "Language models", "Knowledge base", "Chatbot answers", "Voice chatbot", "Pipeline"]:
        assert re.search(rf"<h2 id=\"[^\"]*\">{section}", page), section
    assert page.count('src="data:image/png;base64,') == 6  # self-contained: no file or network links
    assert "http://" not in page and "https://" not in page
    assert "98.76 %" in page and "mnist.lr" in page and "Test CPU" in page and "Keras" in page
    assert "the transformer is better" in page and "nanoGPT" in page and "lstm says &lt;b&gt;hi&lt;/b&gt;" in page
    assert "✓ document.pdf:3 0.700" in page and "miss" in page and "Une pâte &lt;script&gt;" in page
    # The answers: their measures against the targets, the misses shown as text, the calibration.
    assert "correct" in page and "&gt;= 0.80" in page and "Étalez la &lt;b&gt;pâte&lt;/b&gt;. [1]" in page
    assert "chat.decline_below = 0.84" in page and "0.85" in page and "Cury" in page
    markdown = to_markdown(doc, relative_to=reports)
    assert "![Confusion matrix on the test set](mnist/figures/confusion_matrix.png)" in markdown
    assert "| mnist_train | 70.1 | 900 |" in markdown
    assert "| training seconds | 61.5 |" in markdown and "| last index run (s) | 11 |" in markdown


def test_the_lm_comparison_says_which_text_is_which_and_compares_at_equal_steps_and_time(reports):
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert "a test text, used for nothing else" in markdown and "validation text that chooses" in markdown
    assert "| equal steps (100) | 2.4 | 2.5 | lstm |" in markdown
    assert "| equal time (100 s) | 2.6 | 2.5 | transformer |" in markdown  # the LSTM at 100 s: its step-50 value
    assert "no model was cut by a time cap" in markdown


def test_a_model_cut_by_its_time_cap_is_flagged(reports):
    import json

    metrics = json.loads((reports / "lm/metrics.json").read_text())
    metrics["lstm"]["stopped_early"] = "time cap"
    (reports / "lm/metrics.json").write_text(json.dumps(metrics))
    markdown = to_markdown(build(reports, PARAMS, MACHINE), relative_to=reports)
    assert "Warning: the lstm stopped at step 100 on its time cap (lstm.max_seconds)" in markdown


def test_missing_metrics_file_is_named_with_the_stage_to_run(reports):
    (reports / "mnist/metrics.json").unlink()
    with pytest.raises(DataError, match=r"reports/mnist/metrics.json is missing: run `dvc repro mnist_evaluate`"):
        build(reports, PARAMS, MACHINE)
    shutil.rmtree(reports / "mnist/figures")
    (reports / "mnist/metrics.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        build(reports, PARAMS, MACHINE)


def test_text_is_never_markup():
    doc = Document("<b>title</b>", [Paragraph("<script>alert(1)</script> and `dvc repro`"),
                                     Table(["<i>h</i>"], [["<img src=x onerror=alert(1)>"]])])
    page = to_html(doc)
    assert "<script>alert" not in page and "<img src=x" not in page and "<i>h</i>" not in page
    assert "&lt;script&gt;" in page and "<code>dvc repro</code>" in page
