"""The real server (`python web/serve.py`, waitress) under hostile load and odd input: the whole battery of
malformed requests, clients that leave while queued, idle and slow connections, bodies too large to read.

Loopback only; every crowd is bounded in count and time and closed by the test itself.
"""
import json
import socket
import threading
import time

import pytest
import yaml

from web.client import get, post_json, raw_request, request_bytes, running_server
from tests.support.mistakes import RAW_MISTAKES, run_battery
from tests.web.test_server import QUESTIONS, health, open_stream, read_events, serve, server_args
from web.responses import SECURITY_HEADERS

pytestmark = pytest.mark.slow


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def wait_for(condition, seconds: float = 60, step: float = 0.05) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (a bound for a slow machine, not a measure)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_the_whole_battery_gets_4xx_json_with_the_security_headers_and_no_stream_that_fails(lab_server):
    records = run_battery(lab_server, SECURITY_HEADERS)
    assert len(records) >= 120
    for record in records:
        assert 400 <= record["status"] < 500, record  # among them the 500s of /lm/generate and /search
        assert record["json_error"] and record["security_headers"], record  # waitress's own 400/413/431 too
        assert not record["streamed_error"], record
    statuses = {record["status"] for record in records}
    assert {400, 403, 404, 405, 413, 431} <= statuses


def test_waitress_refuses_a_large_body_after_its_headers_without_reading_it(lab_server):
    """10 MB announced and never sent: the 413 comes at once (before, waitress read up to 1 GB first)."""
    for path in ("/chat", "/chat/stream", "/lm/generate", "/mnist/predict", "/"):
        head = request_bytes("POST", path, None, "application/json").replace(
            b"\r\n\r\n", b"\r\nContent-Length: 10000000\r\n\r\n")
        status, headers, body = raw_request(lab_server, head, timeout=30)
        assert status == 413 and headers["content-type"] == "application/json", (path, body)
        assert json.loads(body) == {"error": "the request body is larger than 8388608 bytes"}
        assert headers["x-frame-options"] == SECURITY_HEADERS["X-Frame-Options"]


def test_a_body_under_waitress_limit_but_over_the_route_limit_is_413_from_the_app(lab_server):
    status, headers, body = raw_request(lab_server, request_bytes("POST", "/chat", b"x" * 3_000_000,
                                                                  "application/json"))
    assert status == 413 and "is larger than" in json.loads(body)["error"]
    assert headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]


@pytest.mark.parametrize("data, status", RAW_MISTAKES)
def test_each_request_waitress_itself_refuses_is_json_with_the_security_headers(lab_server, data, status):
    got, headers, body = raw_request(lab_server, data, timeout=30)
    assert got == status and "error" in json.loads(body)
    assert all(headers.get(name.lower()) == value for name, value in SECURITY_HEADERS.items()), headers


@pytest.mark.parametrize("host, status", [("localhost:evil.example", 403), ("127.0.0.1:8000@evil.example", 403),
                                          ("localhost:8000", 200), ("127.0.0.1:PORT", 200), ("[::1]:PORT", 200)])
def test_the_host_check_reads_the_whole_host_and_port(lab_server, host, status):
    port = str(address(lab_server)[1])
    got, _, body = raw_request(lab_server, request_bytes("GET", "/health", host=host.replace("PORT", port)))
    assert got == status, body


def idle_connections(url: str, count: int) -> list[socket.socket]:
    return [socket.create_connection(address(url), timeout=30) for _ in range(count)]


def slow_header_clients(url: str, count: int) -> list[socket.socket]:
    """Connections that have sent half a request's headers and say nothing more (a slowloris, paused)."""
    clients = idle_connections(url, count)
    for client in clients:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return clients


def test_idle_and_slow_clients_beyond_the_old_limit_do_not_starve_health(tmp_path, base):
    """150 idle connections and 30 half-sent requests (the old limit, 100, stopped all accepting); then
    idle connections are closed after chat.channel_timeout."""
    with running_server(*server_args(tmp_path, base, channel_timeout=10)) as (url, _):
        crowd = []
        try:
            crowd = idle_connections(url, 150) + slow_header_clients(url, 30)
            for _ in range(20):
                assert get(url, "/health", timeout=10)[0] == 200
            crowd[0].settimeout(60)
            assert crowd[0].recv(1) == b""  # closed by the server: an idle client holds no place for long
            assert crowd[-1].recv(1) == b""  # a half-sent request too, once it has been silent that long
        finally:
            for client in crowd:
                client.close()


def test_clients_that_leave_while_queued_give_their_places_back_while_the_answer_before_runs(tmp_path, base):
    """Generate mode, 4 places: one long answer holds the model, 3 clients wait behind it and leave. Their
    places come back while that answer is still being generated (before: only when their turn first wrote)."""
    args = server_args(tmp_path, base, queue_size=4, server_threads=8)
    raw = yaml.safe_load((tmp_path / "params.yaml").read_text(encoding="utf-8"))
    raw["llm"]["max_tokens"] = 400  # an answer that keeps the model for a while
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with running_server(*args) as (url, _):
        connection, response = open_stream(url, QUESTIONS[0][0])
        holder = read_events(response)
        assert next(name for name, _ in holder if name == "token")  # it holds the model
        generated, leave = threading.Event(), threading.Event()

        def read_then_leave():
            for name, _ in holder:
                if name == "sources":  # sent once the generation has ended
                    generated.set()
                if leave.is_set():
                    break
            response.close()
            connection.close()

        reader = threading.Thread(target=read_then_leave, daemon=True)
        reader.start()
        waiting = [open_stream(url, question) for question, _ in QUESTIONS]  # 200 with the question's clip
        assert [r.status for _, r in waiting] == [200, 200, 200]
        assert post_json(url, "/chat", {"question": QUESTIONS[0][0]}, timeout=30)[0] == 503  # the queue is full
        for client, stream in waiting:
            stream.close()  # the socket itself closes once its last user does: the client has gone
            client.close()
        assert wait_for(lambda: health(url)["queue"]["in_use"] == 1)
        assert not generated.is_set()  # the answer before them still runs: their places came back at once
        leave.set()  # the long answer's reader leaves too: the model is free
        reader.join(timeout=60)
        status, _, body = post_json(url, "/chat", {"question": QUESTIONS[1][0]}, timeout=300)
        assert status == 200 and json.loads(body)["answer"]
        assert health(url)["queue"]["in_use"] == 0



def test_the_connection_params_are_checked_at_start_up(tmp_path):
    from dllab.errors import UserError
    from tests.chat import helpers
    from web.connections import check_connections

    llm, chat, tts = helpers.sections()
    check_connections(chat)
    with pytest.raises(UserError) as err:
        check_connections(chat.with_values(max_request_body_size=100_000, connection_limit=chat.server_threads))
    message = str(err.value)
    assert "chat.max_request_body_size = 100000 would refuse valid requests" in message and "set it above" in message
    assert f"chat.connection_limit = {chat.server_threads} leaves no connection beyond" in message
    raw = helpers.server_params()
    raw["chat"]["max_request_body_size"] = 2048
    (tmp_path / "p.yaml").write_text(json.dumps(raw), encoding="utf-8")
    failed = serve(tmp_path, "--params", str(tmp_path / "p.yaml"))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith(
        f"error: {tmp_path / 'p.yaml'}: chat.max_request_body_size = 2048 would refuse valid requests")


def test_a_connection_limit_beyond_the_open_files_allowed_is_refused_at_start_up(tmp_path):
    import resource
    import subprocess
    import sys

    from web.client import SERVE_SCRIPT

    limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))  # noqa: E731  (ulimit -n 256)
    failed = subprocess.run([sys.executable, str(SERVE_SCRIPT), "--port", "0"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, preexec_fn=limit)
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1].endswith(
        "chat.connection_limit = 500 needs 628 open files but this process may open at most 256 (ulimit -Hn); "
        "lower chat.connection_limit or raise the limit")
