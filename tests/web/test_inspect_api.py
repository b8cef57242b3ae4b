"""Looking inside the lab's models through the Flask app: POST /lm/inspect and POST /mnist/inspect, checked
against direct forward passes of the checkpoints the app serves (the pipeline's when it made them, else the
web tests' own: see tests/web/lab.py), their 400s and their 503s naming the stage to run."""
import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from dllab.lab import Lab
from dllab.lazy import Unavailable
from tests.web.lab import mnist_test_digits

pytestmark = pytest.mark.slow  # trains the MNIST model for the web tests when the pipeline has not

JSON = "application/json"


def app_over(files):
    from web.app import create_app

    return create_app(None, lab=Lab(files), chat_down=Unavailable("no chat in these tests", "dvc repro llm_download"))


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    """Test metrics as the evaluate stages write them (made up: the page only shows them)."""
    folder = tmp_path_factory.mktemp("metrics")
    (folder / "mnist.json").write_text(json.dumps({"test_accuracy": 0.9895}))
    (folder / "lm.json").write_text(json.dumps({"lstm": {"test_bpc": 2.1}, "transformer": {"test_bpc": 1.9}}))
    return folder


@pytest.fixture(scope="module")
def client(lab_files, metrics):
    files = dataclasses.replace(lab_files, mnist_metrics=metrics / "mnist.json", lm_metrics=metrics / "lm.json")
    return app_over(files).test_client()


def test_next_piece_probabilities_equal_a_direct_forward_pass_of_each_checkpoint(client, lab_files):
    from dllab.text.checkpoint import load_checkpoint
    from dllab.text.tokenizer import Tokenizer

    prompt = "ROMEO:\nWhat light through yonder window"
    answer = client.post("/lm/inspect", json={"prompt": prompt})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    tokenizer = Tokenizer(lab_files.tokenizer)
    ids = tokenizer.encode(prompt)
    for name, path in (("lstm", lab_files.lstm), ("transformer", lab_files.transformer)):
        model, _ = load_checkpoint(path)
        read = ids if model.recurrent else ids[-model.context:]
        with torch.no_grad():
            direct = torch.softmax(model(torch.tensor([read]))[0][0, -1], 0)
        got = body["models"][name]
        assert [t["id"] for t in got["tokens"]] == read
        assert [c["id"] for c in got["candidates"]] == torch.topk(direct, len(got["candidates"])).indices.tolist()
        assert all(math.isclose(c["p"], direct[c["id"]].item(), rel_tol=1e-3) for c in got["candidates"])
        assert got["parameters"] == sum(p.numel() for p in model.parameters())
    assert body["models"]["lstm"]["test_bpc"] == 2.1 and body["models"]["transformer"]["test_bpc"] == 1.9


def test_attention_is_causal_and_each_row_sums_to_one(client):
    attention = client.post("/lm/inspect", json={"prompt": "First Citizen:\nBefore we proceed any further"}
                            ).get_json()["attention"]
    weights = np.asarray(attention["weights"])  # [layer][head][query][key]
    t = len(attention["tokens"])
    assert weights.shape == (attention["layers"], attention["heads"], t, t) and t > 5
    assert np.allclose(weights.sum(-1), 1, atol=t * 1e-4)  # rounded to 4 decimals
    assert np.all(np.triu(weights, 1) == 0)


def test_a_drawn_piece_is_read_as_its_id_after_the_prompt(client):
    first = client.post("/lm/inspect", json={"prompt": "ROMEO:", "models": ["transformer"]}).get_json()
    assert set(first["models"]) == {"transformer"} and "attention" in first
    drawn = first["models"]["transformer"]["candidates"][3]["id"]
    second = client.post("/lm/inspect", json={"prompt": "ROMEO:", "continuation": [drawn], "models": ["lstm"]})
    body = second.get_json()
    assert body["models"]["lstm"]["tokens"][-1]["id"] == drawn and "attention" not in body


@pytest.mark.parametrize("body, content_type, fragment", [
    ('{"prompt": "ROMEO"}', "text/plain", "Content-Type: application/json"),
    ("[]", JSON, "send a JSON object"),
    ("{}", JSON, '"prompt" is missing'),
    (json.dumps({"prompt": "", "top_k": 5}), JSON, "unknown field(s) 'top_k'"),
    (json.dumps({"prompt": "", "continuation": [99999999]}), JSON, "outside the vocabulary"),
    (json.dumps({"prompt": "", "models": [[]]}), JSON, "models must be"),
    ('{"prompt": "ROMEO \\ud800"}', JSON, "unpaired surrogate"),
])
def test_bad_inspect_requests_are_400_naming_the_field(client, body, content_type, fragment):
    response = client.post("/lm/inspect", data=body, content_type=content_type)
    assert response.status_code == 400 and fragment in response.get_json()["error"]


def test_saliency_is_on_the_strokes_and_deleting_its_pixels_hurts_most(client, mnist_raw):
    sure = 0
    for label, image in mnist_test_digits(mnist_raw):
        body = client.post("/mnist/inspect", json={"pixels": image.reshape(-1).tolist()}).get_json()
        assert body["prediction"] == label and body["test_accuracy"] == 0.9895
        seen, saliency = np.asarray(body["input"]), np.asarray(body["saliency"])
        assert saliency.shape == seen.shape == (784,)
        strokes = seen > 0.3
        assert np.abs(saliency[strokes]).mean() > 5 * np.abs(saliency[~strokes]).mean()
        assert body["saliency_total"] > 0  # the ink raised the chosen class's logit above a blank page's
        # Faithfulness: wiping the 40 most salient ink pixels lowers the label's probability more than wiping
        # the 40 least salient ones.
        inked = np.flatnonzero(strokes)
        order = inked[np.argsort(saliency[inked])]
        after = {}
        for which, pixels in (("most", order[-40:]), ("least", order[:40])):
            wiped = seen.copy()
            wiped[pixels] = 0
            after[which] = client.post("/mnist/inspect", json={"pixels": wiped.tolist()}).get_json()
        assert after["most"]["probabilities"][label] < after["least"]["probabilities"][label], label
        assert len(body["units"]) == 6 and all(len(u["weights"]) == 784 for u in body["units"])
        probabilities = np.asarray(body["probabilities"])
        bits = -(probabilities[probabilities > 0] * np.log2(probabilities[probabilities > 0])).sum()
        assert math.isclose(body["entropy_bits"], bits, abs_tol=2e-3) and body["unsure"] == (bits > 1)
        sure += not body["unsure"]
    # Most real test digits read sure (1 bit or less), whatever model the app serves: the pipeline's, or the
    # web tests' 3-epoch one, whose first test "3" sits just over the line at p = 0.75.
    assert sure >= 3


def test_a_lone_dot_reads_as_unsure_or_at_least_with_its_entropy(client):
    # Not a digit. The network still picks one; the answer carries the entropy the page shows.
    dot = np.zeros((28, 28))
    dot[14, 14] = 1
    body = client.post("/mnist/inspect", json={"pixels": dot.reshape(-1).tolist()}).get_json()
    assert 0 <= body["entropy_bits"] <= body["max_bits"] and isinstance(body["unsure"], bool)
    assert body["unsure"] == (body["entropy_bits"] > 1)


def test_a_png_is_inspected_like_pixels_and_bad_bodies_are_400(client, mnist_raw):
    from tests.web.test_lab_api import png_bytes

    label, image = mnist_test_digits(mnist_raw)[0]
    from_png = client.post("/mnist/inspect", data=png_bytes(np.kron(image, np.ones((4, 4)))),
                           content_type="image/png").get_json()
    assert from_png["prediction"] == label
    for data, content_type, fragment in ((b"x", "image/png", "not a readable PNG"),
                                         ("{}", JSON, 'send {"pixels"'),
                                         ("1", "text/plain", "as application/json, or a PNG")):
        response = client.post("/mnist/inspect", data=data, content_type=content_type)
        assert response.status_code == 400 and fragment in response.get_json()["error"]


def test_missing_models_answer_503_naming_the_stage(lab_files, tmp_path):
    files = dataclasses.replace(lab_files, mnist_model=tmp_path / "none.pt", lstm=tmp_path / "none-lstm.pt")
    client = app_over(files).test_client()
    digits = client.post("/mnist/inspect", json={"pixels": [0.5] * 784})
    assert digits.status_code == 503 and digits.get_json()["build"] == "dvc repro mnist_train"
    both = client.post("/lm/inspect", json={"prompt": "ROMEO:"})
    assert both.status_code == 503 and both.get_json()["build"] == "dvc repro lstm_train"
    alone = client.post("/lm/inspect", json={"prompt": "ROMEO:", "models": ["transformer"]})
    assert alone.status_code == 200
    # Without the evaluate stages' metrics the scores are null and the answer says what makes them.
    body = alone.get_json()
    assert body["models"]["transformer"]["test_bpc"] is None and body["evaluate"] == "dvc repro lm_evaluate"
