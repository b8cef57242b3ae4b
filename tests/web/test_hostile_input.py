"""Generated malformed input for every route (property-based, with hypothesis), through the app over the real
chat service and the lab's models: whatever is sent, the answer is a 4xx JSON error or a success, never a 5xx,
and never a 200 stream that then reports an error.

Each body is a valid request with one field replaced by any JSON value (NaN, 1e308, huge integers, lone
surrogates, nested lists...), a valid request with extra fields, any JSON value at all, or raw bytes.
Derandomized: the same examples on every run, so a failure found here is found again.
"""
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates included
SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80)
           | st.floats() | st.sampled_from([1e-45, 1e-300, 5e-324, 1e308, -0.0, 0.005, 400, 401, 2**63])
           | TEXT | SURROGATES | st.sampled_from(["", " ", "lstm", "transformer", "0", "1e3", "\x00", "**"]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10)

SETTINGS = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def bodies(valid: dict):
    """JSON bodies around ``valid``: one field replaced, extra fields, anything at all."""
    replaced = st.builds(lambda key, value: {**valid, key: value}, st.sampled_from(sorted(valid)), JSON_VALUES)
    extra = st.builds(lambda more: {**valid, **more}, st.dictionaries(TEXT, JSON_VALUES, min_size=1, max_size=2))
    return (replaced | extra | JSON_VALUES).map(lambda value: json.dumps(value).encode())  # NaN, Infinity as is


def raw_bodies():
    return st.binary(max_size=300) | st.builds(lambda head, rest: head + rest, st.sampled_from(
        [b"{", b'{"', b"\xef\xbb\xbf{", b"\x89PNG\r\n\x1a\n", b"[" * 3000, b'{"question": "\\ud8']), st.binary(max_size=60))


def assert_refused_or_served(response, what):
    status = response.status_code
    event(f"HTTP {status}")  # how many were refused and served: pytest --hypothesis-show-statistics
    assert status < 500, (what, status, response.get_data()[:300])
    if status >= 400:
        assert response.is_json and isinstance(response.get_json()["error"], str), (what, response.get_data()[:300])
    if response.mimetype == "text/event-stream":
        assert "event: error" not in response.get_data(as_text=True), what  # a 200 stream that then failed


@SETTINGS
@given(body=bodies({"prompt": "ROMEO:", "max_new_tokens": 3, "temperature": 0.8, "top_k": 5, "seed": 1,
                    "models": ["lstm", "transformer"]}) | raw_bodies())
def test_generation_requests(lab_app, body):
    response = lab_app.test_client().post("/lm/generate", data=body, content_type="application/json")
    assert_refused_or_served(response, body)


@SETTINGS
@given(q=TEXT | SURROGATES | st.text(min_size=400, max_size=600), k=st.none() | TEXT | st.integers().map(str)
       | st.text("0123456789", min_size=1, max_size=4) | st.integers(4000, 6000).map(lambda n: "9" * n),
       extra=st.dictionaries(TEXT, TEXT, max_size=2))
def test_searches(lab_app, q, k, extra):
    args = {"q": q, **({} if k is None else {"k": k}), **extra}
    # Built by hand: surrogates have no UTF-8, so they travel as the %-escapes of their raw form.
    query = "&".join(f"{_escape(key)}={_escape(value)}" for key, value in args.items())
    response = lab_app.test_client().get("/search?" + query)
    assert_refused_or_served(response, query[:200])


def _escape(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


@SETTINGS
@given(body=bodies({"pixels": [0.0] * 392 + [1.0] * 392}) | raw_bodies(),
       content_type=st.sampled_from(["application/json", "image/png"]))
def test_digit_requests(lab_app, body, content_type):
    response = lab_app.test_client().post("/mnist/predict", data=body, content_type=content_type)
    assert_refused_or_served(response, body[:200])


@settings(SETTINGS, max_examples=40)  # an accepted question is a real turn of the model and the voices
@given(body=bodies({"question": "Quelle pomme ?", "history": [{"role": "user", "content": "Bonjour"}]})
       | raw_bodies(), path=st.sampled_from(["/chat", "/chat/stream"]))
def test_chat_requests(lab_app, body, path):
    response = lab_app.test_client().post(path, data=body, content_type="application/json")
    assert_refused_or_served(response, body[:200])
