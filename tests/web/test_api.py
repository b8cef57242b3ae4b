"""The Flask API over the real chat service: answers, streaming, every bad input, security headers."""
import json

import pytest

from dllab.chat.client import is_wav
from tests.chat import helpers

QUESTION = "Quel est le secret d'une bonne tarte aux pommes ?"


def events(response) -> list[tuple[str, dict]]:
    out = []
    for block in response.get_data(as_text=True).split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.slow
def test_chat_answers_with_sources_and_playable_audio(client):
    response = client.post("/chat", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"answer", "sources", "audio", "timings"} and body["answer"]
    assert body["sources"][0]["file"] == "tarte.txt" and "reinette" in body["sources"][0]["excerpt"]
    assert set(body["sources"][0]) == {"file", "page", "score", "excerpt"}
    for role in ("question", "answer"):
        audio = client.get(body["audio"][role])
        assert audio.status_code == 200 and audio.mimetype == "audio/wav" and is_wav(audio.data)
    assert body["timings"]["first_token_s"] > 0
    assert_security_headers(response)


@pytest.mark.slow
def test_stream_sends_question_audio_tokens_sources_answer_audio_done(client):
    response = client.post("/chat/stream", json={"question": QUESTION, "history": [
        {"role": "user", "content": "Bonjour"}, {"role": "assistant", "content": "Bonjour ! Une question ?"}]})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    received = events(response)
    names = [name for name, _ in received]
    assert names[0] == "audio" and received[0][1]["url"].startswith("/audio/")
    assert names.count("token") >= 1 and names[-3:] == ["sources", "audio", "done"]
    done = received[-1][1]
    assert done["answer"] == "".join(d["text"] for n, d in received if n == "token").strip()
    assert done["history_kept"] == 2


BAD_REQUESTS = [
    ("not json at all", "application/json", 400, "not valid JSON"),
    ('{"question": "Q"}', "text/plain", 400, "Content-Type: application/json"),
    ("[1, 2]", "application/json", 400, "must be a JSON object"),
    ("{}", "application/json", 400, "'question' is missing"),
    ('{"question": ""}', "application/json", 400, "'question' is empty"),
    ('{"question": "   "}', "application/json", 400, "'question' is empty"),
    ('{"question": 12}', "application/json", 400, "must be a string"),
    ('{"question": "Q", "history": {"a": 1}}', "application/json", 400, "'history' must be a list"),
    ('{"question": "Q", "history": [{"role": "root", "content": "x"}]}', "application/json", 400, "history[0].role"),
    (json.dumps({"question": "x" * 1001}), "application/json", 400, "the limit is 1000"),
    (json.dumps({"question": "Q", "history": [{"role": "user", "content": "a"}] * 21}), "application/json", 400,
     "21 messages"),
    (json.dumps({"question": "Q", "history": [{"role": "user", "content": "a" * 5000}]}), "application/json",
     400, "the limit is 4000"),
    ('{"question": "' + "x" * 2_000_000 + '"}', "application/json", 413, "larger than"),
]


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
@pytest.mark.parametrize("body, content_type, status, fragment", BAD_REQUESTS)
def test_every_bad_request_is_a_4xx_json_error(client, path, body, content_type, status, fragment):
    response = client.post(path, data=body, content_type=content_type)
    assert response.status_code == status
    assert response.is_json and fragment in response.get_json()["error"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/audio/unknown", "/audio/..%2F..%2Fetc%2Fpasswd", "/audio/../app.py",
                                  "/audio/" + "0" * 64, "/audio/%2e%2e", "/nothing-here", "/static/../app.py"])
def test_unknown_audio_paths_and_traversal_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"] in {"not found", "no such audio clip"}


def test_wrong_method_is_405_json(client):
    response = client.get("/chat")
    assert response.status_code == 405 and "not allowed" in response.get_json()["error"]
    assert "POST" in response.headers["Allow"]


def test_a_full_queue_answers_503_with_retry_after(chat_service):
    from dllab.chat.service import ChatService
    from web.app import create_app

    llm, chat, tts = helpers.sections()
    tiny = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker, {**chat, "queue_size": 1})
    client = create_app(tiny).test_client()
    held = tiny.open_turn("Q ?", [])
    try:
        for path in ("/chat", "/chat/stream"):
            response = client.post(path, json={"question": QUESTION})
            assert response.status_code == 503 and response.headers["Retry-After"] == "7"
            assert "busy" in response.get_json()["error"]
    finally:
        held.close()


def test_an_unexpected_failure_is_a_generic_500_without_a_trace(chat_service, monkeypatch, caplog):
    from web.app import create_app

    client = create_app(chat_service).test_client()
    monkeypatch.setattr(chat_service, "ask", lambda *a: (_ for _ in ()).throw(RuntimeError("secret detail")))
    response = client.post("/chat", json={"question": QUESTION})
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error; the server log has the details"}
    assert "secret detail" in caplog.text  # logged for the operator, not sent to the client


def test_health_page_and_static_files(client):
    health = client.get("/health").get_json()
    assert health["status"] == "ok" and health["index"]["chunks"] > 0 and health["tts"]["engine"] == "espeak"
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<script src="/static/app.js" defer></script>' in html
    assert html.count("<script") == 1 and "onclick" not in html and "http" not in html  # no inline code, no CDN
    assert_security_headers(page)
    script = client.get("/static/app.js").get_data(as_text=True)
    assert "innerHTML" not in script and "textContent" in script
    assert client.get("/static/app.css").status_code == 200
