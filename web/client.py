"""Running the real server in a child process and talking to it over HTTP, as the web page does.

Used by the ``serve`` stage, ``bench/`` and the tests, so that all of them measure what a user gets. One HTTP
client, httpx (already locked), with ``dllab.sse.events`` reading streams; ``raw_request`` writes bytes on a
socket for the requests no HTTP library would send.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from dllab.errors import UserError
from dllab.sse import events

SERVE_SCRIPT = Path(__file__).resolve().parent / "serve.py"
# One client for every call: making one costs ~50 ms (its TLS context), which would count in every measured
# round trip. No connection is kept alive between calls, as before (each call is a fresh connection) and any
# number may be open at once; trust_env=False: a proxy from the environment must not stand in front of the
# lab's local server.
_HTTP = httpx.Client(trust_env=False, limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))
READY = "serving on "


@contextmanager
def running_server(*args: str, start_timeout: float = 180, cwd: str | Path | None = None,
                   env: dict | None = None, script: str | Path = SERVE_SCRIPT) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start ``python web/serve.py --port 0 ARGS`` on a free local port; yield (base URL, process).

    ``cwd``, ``env`` and ``script`` (e.g. the relative ``web/serve.py``, run from a repository's root)
    default to this process's. The server is always stopped on exit (SIGTERM, then SIGKILL after 30 s).
    Its output goes to a temporary log (a pipe nobody reads would block it once full); if it fails to
    start, the log's last lines are in the error.
    """
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, str(script), "--port", "0", *args], cwd=cwd, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            yield _wait_until_ready(process, log, start_timeout), process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_llama_server(model_path: str | Path, threads: int = 1, n_ctx: int = 2048, port: int = 0,
                         start_timeout: float = 120, omp_wait_policy: str = "PASSIVE"
                         ) -> Iterator[tuple[str, subprocess.Popen]]:
    """llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``, its ``server`` extra) on
    ``model_path``, listening on 127.0.0.1 (``port`` 0: a free one); yield (its /v1 base URL, process).

    ``--interrupt_requests False``: by default that server cancels a generation in progress whenever another
    request arrives. ``omp_wait_policy`` PASSIVE: its idle OpenMP threads sleep instead of spinning; with the
    default policy they slowed a llama.cpp model in another process on the same 2 cores 2.5 times
    (``bench/remote_llm.py``), at the price of about half the server's own speed on the small test model.
    Always killed on exit.
    """
    import os

    port = port or free_port()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
             "--port", str(port), "--n_threads", str(threads), "--n_threads_batch", str(threads),
             "--n_ctx", str(n_ctx), "--interrupt_requests", "False"],
            stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_WAIT_POLICY": omp_wait_policy})
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/", process, log, start_timeout)
            yield f"http://127.0.0.1:{port}/v1", process
        finally:
            process.kill()
            process.wait()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, log, timeout: float) -> None:
    """Until ``url`` answers HTTP (any status); UserError with the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            tail = "\n".join(log.read().strip().splitlines()[-5:])
            raise UserError(f"the server exited with status {process.returncode}: {tail}")
        try:
            get(url, "", timeout=2)
            return
        except httpx.TransportError:  # not listening yet
            time.sleep(0.2)
    raise UserError(f"the server at {url} did not answer within {timeout:.0f} s")


def _wait_until_ready(process: subprocess.Popen, log, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        output = log.read()
        for line in output.splitlines():
            if line.startswith(READY):
                return line[len(READY):].strip()
        if process.poll() is not None:
            tail = "\n".join(output.strip().splitlines()[-5:])
            raise UserError(f"the chat server exited with status {process.returncode}: {tail}")
        time.sleep(0.1)
    raise UserError(f"the chat server did not start within {timeout:.0f} s")


def get(base_url: str, path: str, timeout: float = 30) -> tuple[int, httpx.Headers, bytes]:
    """GET ``path``; return (status, headers (names in any case), body) without raising on 4xx/5xx; a
    connection that fails raises httpx.TransportError."""
    return _send("GET", base_url + path, None, {}, timeout)


def post_json(base_url: str, path: str, payload, timeout: float = 300) -> tuple[int, httpx.Headers, bytes]:
    return post(base_url, path, json.dumps(payload).encode("utf-8"), "application/json", timeout)


def post(base_url: str, path: str, body: bytes, content_type: str | None,
         timeout: float = 300) -> tuple[int, httpx.Headers, bytes]:
    """POST raw bytes; return (status, headers, body) as ``get`` does.

    Without ``content_type`` the body goes as application/x-www-form-urlencoded, what a form would send.
    """
    return _send("POST", base_url + path, body, {"Content-Type": content_type or "application/x-www-form-urlencoded"},
                 timeout)


def _send(method: str, url: str, body: bytes | None, headers: dict, timeout: float) -> tuple[int, httpx.Headers, bytes]:
    response = _HTTP.request(method, url, content=body, headers=headers, timeout=timeout)
    return response.status_code, response.headers, response.content


def request_bytes(method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                  host: str = "127.0.0.1") -> bytes:
    """An HTTP/1.1 request as bytes (``Connection: close``); non-ASCII characters of ``path`` percent-encoded."""
    import urllib.parse

    lines = [f"{method} {urllib.parse.quote(path, safe='/?&=%:@!$()*+,;~')} HTTP/1.1", f"Host: {host}",
             "Connection: close"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def raw_request(base_url: str, data: bytes, timeout: float = 120) -> tuple[int, dict, bytes]:
    """Send ``data`` as it is on a new connection; return (status, headers with lower-case names, body).

    For requests no HTTP library would send (a malformed request line, a Content-Length that is never sent).
    A server may answer before it has read everything (a 413 after the headers) and close: what it said
    is still read.
    """
    import http.client
    import socket
    import urllib.parse

    address = urllib.parse.urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:  # closed by the server after its answer
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        try:
            body = response.read()
        except http.client.IncompleteRead as cut:
            body = cut.partial
        return response.status, {name.lower(): value for name, value in response.getheaders()}, body


def stream_chat(base_url: str, question: str, history: list[dict] | None = None, timeout: float = 600) -> dict:
    """Ask over ``POST /chat/stream`` and gather the events, timed on the client side.

    Returns {answer, sources, audio: {role: clip}, sentence_audio: [clip of each answer sentence, in order],
    timings (the server's), tokens, events (names in order), client: {first_token_s, first_sentence_s,
    first_answer_audio_s, total_s}}. ``first_sentence_s`` is when the tokens received complete a first
    sentence, cut as the server cuts them (or the generation ends); ``first_answer_audio_s`` when the
    first answer sentence's clip is announced.
    """
    from dllab.chat.service import SENTENCE_MAX_CHARS
    from dllab.speech.text import SentenceCutter

    body = {"question": question, "history": history or []}
    started = time.perf_counter()
    result = {"answer": None, "sources": None, "audio": {}, "sentence_audio": [], "tokens": [], "events": [],
              "client": {}}
    cutter, client = SentenceCutter(SENTENCE_MAX_CHARS), result["client"]
    since = lambda: round(time.perf_counter() - started, 3)  # noqa: E731
    with _stream(base_url + "/chat/stream", body, timeout) as response:
        if response.status_code >= 400:  # refused before the stream: 503 busy or LLM server down, 4xx
            raise UserError(f"the server refused {question!r}: {response.status_code} {_error_message(response)}")
        for name, data in _decoded(response):
            result["events"].append(name)
            if name == "token":
                client.setdefault("first_token_s", since())
                result["tokens"].append(data["text"])
                if cutter.feed(data["text"]):
                    client.setdefault("first_sentence_s", since())
            elif name == "audio" and data["role"] == "answer_sentence":
                client.setdefault("first_answer_audio_s", since())
                result["sentence_audio"].append(data)
            elif name == "audio":
                result["audio"][data["role"]] = data
            elif name == "sources":
                client.setdefault("first_sentence_s", since())  # the generation ended: its last words are a sentence
                result["sources"] = data["sources"]
            elif name == "done":
                result.update(answer=data["answer"], timings=data["timings"])
            elif name == "error":
                raise UserError(f"the server failed to answer {question!r}: {data['error']}")
    client["total_s"] = since()
    return result


def wait_until_loaded(base_url: str, timeout: float = 120) -> float:
    """Seconds until /health says that every section whose files exist is loaded (the server loads them in
    the background after start-up); UserError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        sections = json.loads(get(base_url, "/health")[2])["sections"]
        if all(section["loaded"] or not section["ready"] for section in sections.values()):
            return time.monotonic() - started
        time.sleep(0.05)
    raise UserError(f"the server's sections did not load within {timeout:.0f} s: {sections}")


def post_events(base_url: str, path: str, payload, timeout: float = 300) -> Iterator[tuple[str, dict, float]]:
    """POST JSON to a Server-Sent Events route; yield (event name, data, seconds since the request was sent);
    httpx.HTTPStatusError when the route refuses the request."""
    started = time.perf_counter()
    with _stream(base_url + path, payload, timeout) as response:
        response.raise_for_status()
        for name, data in _decoded(response):
            yield name, data, time.perf_counter() - started


def _stream(url: str, payload, timeout: float):
    return _HTTP.stream("POST", url, json=payload, headers={"Accept": "text/event-stream"}, timeout=timeout)


def _decoded(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """The stream's events with their JSON data decoded."""
    for name, data in events(response.iter_lines()):
        yield name, json.loads(data)


def _error_message(response: httpx.Response) -> str:
    body = response.read()
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body[:300].decode("utf-8", "replace")


def is_wav(data: bytes) -> bool:
    return len(data) > 44 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
