"""The Flask API over the real chat service: answers, streaming, every bad input, security headers."""
import json
import re
from pathlib import Path

import pytest

from web.client import is_wav
from tests.support.mistakes import BAD_REQUESTS
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
    assert set(body) >= {"answer", "sources", "audio", "timings", "mode", "declined", "cited"} and body["answer"]
    assert body["sources"][0]["file"] == "tarte.txt" and "reinette" in body["sources"][0]["excerpt"]
    assert set(body["sources"][0]) == {"number", "file", "page", "score", "excerpt"}
    assert [s["number"] for s in body["sources"]] == [1, 2]  # the numbers the answer's citations use
    assert body["mode"] == "generate" and body["declined"] is False
    for role in ("question", "answer"):
        audio = client.get(body["audio"][role])
        assert audio.status_code == 200 and audio.mimetype == "audio/wav" and is_wav(audio.data)
    assert body["timings"]["first_token_s"] > 0
    assert_security_headers(response)


@pytest.mark.slow
def test_stream_sends_tokens_with_the_voices_then_sources_the_whole_answer_clip_and_done(client):
    response = client.post("/chat/stream", json={"question": QUESTION, "history": [
        {"role": "user", "content": "Bonjour"}, {"role": "assistant", "content": "Bonjour ! Une question ?"}]})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    received = events(response)
    names = [name for name, _ in received]
    clips = [data for name, data in received if name == "audio"]
    assert [c["role"] for c in clips] == ["question"] + ["answer_sentence"] * (len(clips) - 2) + ["answer"]
    assert [c["index"] for c in clips[1:-1]] == list(range(len(clips) - 2)) and len(clips) >= 3
    for clip in clips:
        audio = client.get(clip["url"])
        assert clip["url"] == f"/audio/{clip['id']}" and audio.status_code == 200 and is_wav(audio.data)
    assert names.count("token") >= 1 and names.count("sources") == 1 and names[-2:] == ["audio", "done"]
    done = received[-1][1]
    assert done["answer"] == "".join(d["text"] for n, d in received if n == "token").strip()
    assert done["history_kept"] == 2


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
@pytest.mark.parametrize("body, content_type, status, fragment", BAD_REQUESTS)
def test_every_bad_request_is_a_4xx_json_error(client, path, body, content_type, status, fragment):
    response = client.post(path, data=body, headers={"Content-Type": content_type} if content_type else {})
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


def test_the_battery_covers_at_least_25_cases():
    assert len(BAD_REQUESTS) >= 25


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", "10.0.0.5:8000", "",
                                  "localhost:evil.example"])
@pytest.mark.parametrize("path", ["/", "/health", "/static/app.js", "/chat"])
def test_a_host_that_is_not_loopback_is_refused(client, host, path):
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 must get nothing."""
    response = client.open(path, method="POST" if path == "/chat" else "GET", headers={"Host": host},
                           json={"question": QUESTION} if path == "/chat" else None)
    assert response.status_code == 403 and "not a loopback name" in response.get_json()["error"]
    assert_security_headers(response)


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000"])
def test_loopback_hosts_are_served(client, host):
    assert client.get("/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("localhost:8000", True), ("LOCALHOST.:80", True), ("app.localhost:8000", True),
    ("127.0.0.1:8000", True), ("127.1.2.3", True), ("[::1]:8000", True), ("[::1]", True), ("127.0.0.1:65535", True),
    ("example.com", False), ("evil.example:8000", False), ("localhost.evil.example", False),
    ("127.0.0.1.nip.io", False), ("0.0.0.0:8000", False), ("[::ffff:10.0.0.1]:80", False), ("10.0.0.5", False),
    ("", False), (None, False), ("[::1", False),
    # What follows the name must be a port: the old check kept only what came before the last colon.
    ("localhost:evil.example", False), ("127.0.0.1:8000:80", False), ("localhost:", False), ("localhost:0", False),
    ("localhost:65536", False), ("localhost:123456", False), ("[::1]:evil", False), ("[::1]x:80", False),
    ("localhost evil.example", False), ("localhost/evil", False), ("user@localhost", False), ("::1", False),
    ("[127.0.0.1]:80", False), ("[localhost]", False),
])
def test_loopback_hosts(host, loopback):
    from web.app import loopback_host

    assert loopback_host(host) is loopback


def test_any_host_is_served_when_bound_to_the_network(chat_service):
    from web.app import create_app

    exposed = create_app(chat_service, loopback_only=False).test_client()
    assert exposed.get("/health", headers={"Host": "chat.example.org"}).status_code == 200


def test_wrong_method_is_405_json(client):
    response = client.get("/chat")
    assert response.status_code == 405 and "not allowed" in response.get_json()["error"]
    assert "POST" in response.headers["Allow"]


def test_a_full_queue_answers_503_with_retry_after(chat_service):
    from dllab.chat.service import ChatService
    from web.app import create_app

    llm, chat, tts = helpers.sections()
    tiny = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                       chat.with_values(queue_size=1))
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
    assert health["model"]["name"].startswith("Smollm2 135M") and health["model"]["file"] == "model.gguf"
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<script src="/static/app.js" defer></script>' in html
    scripts = re.findall(r"<script[^>]*>", html)
    # Every script is one of web/static's files, each loaded once, nothing inline.
    assert len(scripts) == html.count("<script") and all(re.fullmatch(r'<script src="/static/\w+\.js" defer>', tag)
                                                         for tag in scripts)
    loaded = sorted(re.search(r"/static/(\w+\.js)", tag).group(1) for tag in scripts)
    assert loaded == sorted(p.name for p in (Path(__file__).resolve().parents[2] / "web/static").glob("*.js"))
    assert "onclick" not in html and "http" not in html  # no inline code, no CDN
    assert_security_headers(page)
    script = client.get("/static/app.js").get_data(as_text=True)
    assert "innerHTML" not in script and "textContent" in script
    assert "Modèle ${health.model.name}" in script  # the page names the model as /health does
    # it says how the answer is made (the mode /health gives) and what the score beside each source means
    assert health["answer"]["mode"] in ("quote", "generate") and "Je cherche dans les documents…" in script
    assert "Réponse citée mot pour mot des documents" in script and "Le score de chaque passage" in html
    assert client.get("/static/app.css").status_code == 200
