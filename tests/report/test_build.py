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
    for section in ["MNIST", "Language models", "Knowledge base", "Chatbot answers", "Voice chatbot", "Pipeline"]:
        assert re.search(rf"<h2 id=\"[^\"]*\">{section}", page), section
    assert page.count('src="data:image/png;base64,') == 6  # self-contained: no file or network links
    assert "http://" not in page and "https://" not in page
    assert "98.76 %" in page and "mnist.lr" in page and "Test CPU" in page and "Keras" in page
    assert "the transformer is better" in page and "nanoGPT" in page and "lstm says &lt;b&gt;hi&lt;/b&gt;" in page
    assert "✓ document.pdf:3 0.700" in page and "miss" in page and "Une pâte &lt;script&gt;" in page
    # The answers: their measures against the targets, the misses shown as text, the calibration.
    assert "correct" in page and "&gt;= 0.90" in page and "Étalez la &lt;b&gt;pâte&lt;/b&gt;. [1]" in page
    assert "chat.decline_below = 0.84" in page and "0.85" in page and "Cury" in page
    assert "at most 3 sentences" in page and "(e5-multilingual embeddings)" in page  # the models' defaults
    # the notebook's questions with their answers verbatim come first, then correct per kind of question
    chat = page[page.index('<h2 id="chatbot-answers"'):]
    assert chat.index("answers, word for word") < chat.index("Correct per kind") < chat.index("Every question of")
    assert "<td>procedure</td><td>1</td><td>0</td>" in chat
    # calibrated on the pipeline's set, checked on the untouched one, side by side with the check's targets
    assert re.search(r"set_b.yaml \(untouched check\)</td><td>3</td><td>2</td><td>0.6667</td><td>0.5</td>", chat)
    assert "&gt;= 0.70" in chat and "chat.judge_below = 0.15" in chat
    # The voices: word error rates against their targets (the question voice's 0.25 misses), a player per clip.
    assert "Voices: intelligibility" in page and "0.5*ff_siwis+0.5*am_echo" in page and "Une &lt;i&gt;tarte" in page
    assert re.search(r"question voice \(0.5\*ff_siwis\+0.5\*am_echo\): word error rate</td><td>0.25</td>"
                     r"<td>&lt;= 0.2</td><td>missed", page)
    assert page.count('<audio controls preload="none" src="data:audio/ogg;base64,') == 1
    markdown = to_markdown(doc, relative_to=reports)
    assert "[▶ The answer voice says the first answer of the benchmark](speech/clips/answer_voice-answer.wav)" in markdown
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
    assert "### Experiment: this run against commit 0123456789" in markdown
    assert "| lstm.hidden | 256 | 512 |  |" in markdown
    assert "| test bits per character | 2.7 | 2.5 | this run |" in markdown
    assert "| validation bpc at equal steps (100) | 2.6 | 2.4 | this run |" in markdown
    assert "| validation bpc at equal time (100 s) | 2.6 | 2.6 | baseline |" in markdown  # ours at 90 s: 2.6
    assert "the transformer |" not in markdown  # same params: not compared

    (base / "reports/pipeline/lstm_train.json").unlink()  # no times: only the equal-steps row
    markdown = to_markdown(build(reports, params, MACHINE, baseline=FolderBaseline(base)), relative_to=reports)
    assert "equal steps (100)" in markdown and "equal time" not in markdown.split("### Experiment")[1]
    same = to_markdown(build(reports, {**params, "lstm": {"hidden": 256}}, MACHINE, baseline=FolderBaseline(base)),
                       relative_to=reports)
    assert "No language-model param differs from commit 0123456789" in same


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
