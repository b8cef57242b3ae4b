"""The lab's sections through the Flask app (test client): digits, language models, search, report, and
each section's own 503 when its files are missing while the others keep answering."""
import io
import json
import math

import numpy as np
import pytest

from dllab.lab import Lab, LabFiles
from tests.web.lab import mnist_test_digits

pytestmark = pytest.mark.slow  # the chat service under the app loads the real GGUF

JSON = "application/json"
ZEROS = [0.0] * 784


def png_bytes(ink: np.ndarray, dark_on_light: bool = True, mode: str = "L") -> bytes:
    from PIL import Image

    grey = (255 * (1 - ink) if dark_on_light else 255 * ink).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(grey, "L").convert(mode).save(out, "PNG")
    return out.getvalue()


def events(response) -> list[tuple[str, dict]]:
    found = []
    for block in response.get_data(as_text=True).strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_a_test_digit_is_read_from_its_pixels_and_from_a_png(lab_client, mnist_raw):
    for label, image in mnist_test_digits(mnist_raw):
        answer = lab_client.post("/mnist/predict", json={"pixels": image.reshape(-1).tolist()})
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert body["prediction"] == label and len(body["probabilities"]) == 10
        assert math.isclose(sum(body["probabilities"]), 1, abs_tol=1e-3) and len(body["input"]) == 784
        # The same digit drawn large (4×) as dark ink on white paper, as a PNG: the same reading.
        big = np.kron(image, np.ones((4, 4)))
        from_png = lab_client.post("/mnist/predict", data=png_bytes(big), content_type="image/png").get_json()
        assert from_png["prediction"] == label


BAD_DIGITS = [
    (json.dumps({}), JSON, "send {\"pixels\""),
    (json.dumps({"pixels": ZEROS[:783]}), JSON, "got 783"),
    (json.dumps({"pixels": ZEROS + [0]}), JSON, "got 785"),
    (json.dumps({"pixels": [[0.0] * 28] * 28}), JSON, "got 28"),
    (json.dumps({"pixels": "0" * 784}), JSON, "got str"),
    (json.dumps({"pixels": ZEROS[:783] + [2]}), JSON, "pixels[783] = '2' is not allowed"),
    (json.dumps({"pixels": ZEROS[:783] + [-0.1]}), JSON, "pixels[783] = '-0.1'"),
    (json.dumps({"pixels": [True] + ZEROS[1:]}), JSON, "pixels[0] = 'True'"),
    (json.dumps({"pixels": ["0.5"] + ZEROS[1:]}), JSON, "pixels[0] = '0.5'"),
    ('{"pixels": [NaN' + ", 0" * 783 + "]}", JSON, "NaN is not a number JSON allows"),
    (json.dumps({"pixels": ZEROS, "label": 3}), JSON, "got ['label', 'pixels']"),
    (json.dumps({"pixels": ZEROS}), JSON, "the image has no ink"),
    ('{"pixels": [', JSON, "JSON"),
    (json.dumps({"pixels": ZEROS}), "text/plain", "send {\"pixels\": [784 numbers]} as application/json"),
    (b"not a png at all", "image/png", "not a readable PNG"),
]


@pytest.mark.parametrize("body, content_type, fragment", BAD_DIGITS)
def test_bad_digit_requests_are_400_json_naming_the_problem(lab_client, body, content_type, fragment):
    response = lab_client.post("/mnist/predict", data=body, content_type=content_type)
    assert response.status_code == 400 and response.is_json
    assert fragment in response.get_json()["error"]


def test_other_images_and_sizes_are_refused(lab_client):
    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("L", (28, 28)).save(jpeg, "JPEG")
    answer = lab_client.post("/mnist/predict", data=jpeg.getvalue(), content_type="image/png")
    assert answer.status_code == 400 and "JPEG image; send a PNG" in answer.get_json()["error"]
    wide = io.BytesIO()
    Image.new("L", (3000, 2)).save(wide, "PNG")
    answer = lab_client.post("/mnist/predict", data=wide.getvalue(), content_type="image/png")
    assert answer.status_code == 400 and "the limit is 2048×2048" in answer.get_json()["error"]
    blank = lab_client.post("/mnist/predict", data=png_bytes(np.zeros((50, 50))), content_type="image/png")
    assert blank.status_code == 400 and "no ink" in blank.get_json()["error"]
    huge = lab_client.post("/mnist/predict", data=b"\0" * (1 << 20 | 1), content_type="image/png")
    assert huge.status_code == 413 and "larger than 1048576 bytes" in huge.get_json()["error"]
    assert lab_client.get("/mnist/predict").status_code == 405


def test_light_ink_on_dark_and_transparent_pngs_read_like_dark_ink_on_paper(lab_client, mnist_raw):
    label, image = mnist_test_digits(mnist_raw)[0]
    readings = [lab_client.post("/mnist/predict", data=data, content_type="image/png").get_json()["input"]
                for data in (png_bytes(image), png_bytes(image, dark_on_light=False), _transparent(image))]
    assert np.allclose(readings[0], readings[1], atol=0.02) and np.allclose(readings[0], readings[2], atol=0.02)


def _transparent(ink: np.ndarray) -> bytes:
    from PIL import Image

    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., 3] = (255 * ink).astype(np.uint8)  # black ink whose opacity is the ink, on nothing
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    return out.getvalue()


def test_both_models_stream_in_turns_then_end(lab_client):
    response = lab_client.post("/lm/generate", json={"prompt": "ROMEO:", "max_new_tokens": 6, "seed": 3})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    found = events(response)
    pieces = [data for name, data in found if name == "piece"]
    assert [p["model"] for p in pieces[:4]] == ["lstm", "transformer", "lstm", "transformer"]
    assert all(0 < p["p"] <= 1 and p["text"] for p in pieces)
    counted = {model: sum(p["model"] == model for p in pieces) for model in ("lstm", "transformer")}
    assert {data["model"]: data["pieces"] for name, data in found if name == "done"} == counted
    assert found[-1] == ("end", {})
    again = [d for n, d in events(lab_client.post("/lm/generate", json={"prompt": "ROMEO:", "max_new_tokens": 6,
                                                                       "seed": 3})) if n == "piece"]
    assert again == pieces  # the same seed, the same text


def test_one_model_can_be_asked_alone(lab_client):
    found = events(lab_client.post("/lm/generate", json={"models": ["transformer"], "max_new_tokens": 3}))
    assert {data["model"] for name, data in found if name == "piece"} == {"transformer"}


BAD_RACES = [
    ("ROMEO", "text/plain", "Content-Type: application/json"),
    ("[]", JSON, "send a JSON object"),
    ('{"prompt": ', JSON, "JSON"),
    (json.dumps({"temperature": 0}), JSON, "temperature = 0.0 is not allowed"),
    (json.dumps({"temperature": -1}), JSON, "temperature = -1.0 is not allowed"),
    (json.dumps({"temperature": "hot"}), JSON, "temperature must be a number"),
    (json.dumps({"top_k": 0}), JSON, "top_k = 0 is not allowed"),
    (json.dumps({"top_k": 1.5}), JSON, "top_k must be an integer"),
    (json.dumps({"max_new_tokens": -1}), JSON, "max_new_tokens = -1 is not allowed"),
    (json.dumps({"max_new_tokens": 401}), JSON, "use at most 400"),
    (json.dumps({"seed": -1}), JSON, "seed = -1 is not allowed"),
    (json.dumps({"seed": True}), JSON, "seed must be an integer"),
    (json.dumps({"seed": 2**64}), JSON, "seed = 18446744073709551616 is not allowed"),
    (json.dumps({"prompt": 5}), JSON, "prompt must be text"),
    (json.dumps({"prompt": "x" * 1001}), JSON, "the limit is 1000"),
    (json.dumps({"models": ["gru"]}), JSON, "models must be"),
    (json.dumps({"models": []}), JSON, "models must be"),
    (json.dumps({"models": ["lstm", "lstm"]}), JSON, "models must be"),
    (json.dumps({"top-k": 5}), JSON, "unknown field(s) 'top-k'"),
    # Were a 500: an unhashable item reached set().
    (json.dumps({"models": [[]]}), JSON, "models must be"),
    (json.dumps({"models": [{}]}), JSON, "models must be"),
    # Were a 200, then an error event: logits / temperature overflowed into inf and NaN probabilities...
    (json.dumps({"temperature": 1e-45}), JSON, "temperature = 1e-45 is not allowed; use a number from 0.01 to 100"),
    (json.dumps({"temperature": 1e-300}), JSON, "temperature = 1e-300 is not allowed"),
    (json.dumps({"temperature": 1e300}), JSON, "temperature = 1e+300 is not allowed"),
    ('{"temperature": NaN}', JSON, "NaN is not a number JSON allows"),
    ('{"temperature": 1e999}', JSON, "1e999 is too large for a number"),
    # ...and the tokenizer met a lone surrogate, which has no UTF-8.
    ('{"prompt": "ROMEO \\ud800"}', JSON, "'prompt' holds an unpaired surrogate (\\ud800) at character 6"),
]


@pytest.mark.parametrize("body, content_type, fragment", BAD_RACES)
def test_bad_generation_requests_are_400_json_before_any_stream(lab_client, body, content_type, fragment):
    response = lab_client.post("/lm/generate", data=body, content_type=content_type)
    assert response.status_code == 400 and response.is_json
    assert fragment in response.get_json()["error"]


def test_search_gives_each_passage_its_scores_and_best_sentence(lab_client):
    body = lab_client.get("/search?q=Quelles+sont+les+variantes+de+la+tarte+aux+pommes+%3F&k=3").get_json()
    assert body["k"] == 3 and len(body["results"]) == 3
    first = body["results"][0]
    assert first["file"] == "tarte.txt" and first["page"] is None and "Tatin" in first["text"]
    assert set(first["scores"]) == {"dense", "lexical", "fused"} and 0 < first["scores"]["dense"] <= 1
    assert [r["scores"]["fused"] for r in body["results"]] == sorted((r["scores"]["fused"] for r in body["results"]),
                                                                     reverse=True)
    sentence = first["sentence"]
    assert "Tatin" in sentence["text"] and first["text"][sentence["start"]:sentence["end"]] == sentence["text"]


@pytest.mark.parametrize("query, fragment", [
    ("", "q is empty"), ("?q=", "q is empty"), ("?q=%20%20", "q is empty"), ("?q=" + "x" * 501, "the limit is 500"),
    ("?q=tarte&k=0", "k = '0' is not allowed"), ("?q=tarte&k=21", "k = '21'"), ("?q=tarte&k=abc", "k = 'abc'"),
    ("?q=tarte&k=-1", "k = '-1'"), ("?q=tarte&k=²", "k = '²'"), ("?q=tarte&n=3", "unknown parameter(s) 'n'"),
    ("?q=tarte&k=" + "9" * 5000, "k = '99999999999999999999' is not allowed"),  # was a 500: int() refuses 4,300+ digits
    ("?q=tarte&k=0004", "k = '0004'"),
    # Werkzeug replaced what is not UTF-8 by U+FFFD, and the search ran on a question nobody asked.
    ("?q=%ff%fe", "not valid UTF-8"), ("?q=tarte%ed%a0%80", "not valid UTF-8"),
])
def test_bad_searches_are_400_json(lab_client, query, fragment):
    response = lab_client.get("/search" + query)
    assert response.status_code == 400 and fragment in response.get_json()["error"]


def test_the_report_is_served_with_a_policy_that_runs_no_script(lab_client, lab_files):
    response = lab_client.get("/report")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.get_data() == lab_files.report.read_bytes()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script" not in policy and "img-src data:" in policy


def test_each_section_without_its_files_names_its_stage_while_the_others_answer(chat_service, tmp_path, lab_files):
    from web.app import create_app

    missing = LabFiles.under(tmp_path)
    only_lstm = LabFiles(missing.mnist_model, lab_files.lstm, missing.transformer, lab_files.tokenizer, missing.report)
    client = create_app(chat_service, lab=Lab(only_lstm, retriever=chat_service.retriever)).test_client()
    digits = client.post("/mnist/predict", json={"pixels": ZEROS})
    assert digits.status_code == 503 and digits.get_json()["build"] == "dvc repro mnist_train"
    assert str(missing.mnist_model) in digits.get_json()["error"]
    report = client.get("/report")
    assert report.status_code == 503 and "`dvc repro report`" in report.get_json()["error"]
    found = events(client.post("/lm/generate", json={"max_new_tokens": 3}))
    assert found[0] == ("unavailable", {"model": "transformer", "error": found[0][1]["error"],
                                        "build": "dvc repro transformer_train"})
    assert {data["model"] for name, data in found if name == "piece"} == {"lstm"}
    alone = client.post("/lm/generate", json={"models": ["transformer"]})
    assert alone.status_code == 503 and alone.get_json()["build"] == "dvc repro transformer_train"
    assert client.get("/search?q=tarte").status_code == 200
    sections = client.get("/health").get_json()["sections"]
    assert not sections["digits"]["ready"] and sections["lm_lstm"]["ready"] and sections["search"]["ready"]
    assert sections["report"]["build"] == "dvc repro report"


def test_the_page_has_a_section_per_system_and_no_inline_code(lab_client):
    html = lab_client.get("/").get_data(as_text=True)
    for panel in ("panel-chat", "panel-digits", "panel-lm", "panel-search"):
        assert f'id="{panel}"' in html
    assert 'href="/report"' in html and "onclick" not in html and "style=" not in html
    for script in ("common", "app", "digits", "lm", "search"):
        code = lab_client.get(f"/static/{script}.js").get_data(as_text=True)
        assert "innerHTML" not in code and "insertAdjacentHTML" not in code and "eval(" not in code
    assert lab_client.get("/favicon.ico").status_code == 204


def test_a_third_generation_at_once_gets_503_with_retry_after(lab_client):
    from web.lm_routes import RACES

    held = [lab_client.post("/lm/generate", json={"max_new_tokens": 2}, buffered=False) for _ in range(RACES)]
    try:
        assert all(response.status_code == 200 for response in held)
        refused = lab_client.post("/lm/generate", json={"max_new_tokens": 2})
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
        assert "generations are already running" in refused.get_json()["error"]
    finally:
        for response in held:
            response.close()  # the places are given back even though the streams were never read
    assert lab_client.post("/lm/generate", json={"max_new_tokens": 2}).status_code == 200


def test_without_the_chat_model_the_search_opens_the_index_itself(base, lab_files):
    from dataclasses import replace

    from dllab.lazy import Unavailable
    from tests.chat import helpers
    from web.app import create_app

    down = Unavailable("the chatbot is unavailable: the chat model x.gguf is missing",
                       "dvc repro llm_download rag_index", ["x.gguf"])
    lab = Lab(replace(lab_files, index=helpers.index_dir(base)))
    try:
        client = create_app(None, chat_down=down, lab=lab).test_client()
        assert client.post("/chat", json={"question": "Et la Tatin ?"}).get_json()["build"] == down.build
        assert client.get("/audio/abc").status_code == 503
        results = client.get("/search?q=tarte+Tatin&k=2").get_json()["results"]
        assert len(results) == 2 and results[0]["sentence"]
        health = client.get("/health").get_json()
        assert "model" not in health and health["sections"]["chat"]["missing"] == ["x.gguf"]
    finally:
        lab.close()  # the index copy the search opened
