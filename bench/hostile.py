"""Benchmark: the server under hostile load and odd input (loopback only, every crowd bounded and closed here).

On the real server (`web/serve.py`, waitress) with the pipeline's model and index and the default params,
in generate mode (the slow path: SmolLM2 writes each answer), four measures with their targets:
- the whole battery of malformed requests (tests/support/mistakes.py: every route, and what waitress itself
  refuses): responses >= 500 and 200 streams that then send an ``error`` event (goal: 0 and 0);
- departures: 40 /chat/stream clients at once (16 places; a late one takes the place of one that has left,
  else 503), each reads one event and leaves; the next question comes at once: its status (goal: 200, not
  503, within 2 s), its first token, and when every departed client's place is back; then a JSON /chat;
  a few rounds;
- /health latency alone, then while 200 idle connections and 30 slow-header clients (half a request's
  headers, one more byte a second) are open (goal: p95 <= 100 ms, none failed);
- a body announcing 10 MB: refused with 413 after its headers alone (goal: before the body is read), and
  again while the body is being sent as fast as the socket takes it.
Writes reports/bench/hostile.json with the machine and its load. Run: `python bench/hostile.py` (about 3
minutes on 2 quiet cores); `--answer-mode quote` for the departures in quote mode.
"""
import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # web/ and tests/ are not installed packages

from chat_server import _stats, _with_answer_mode  # bench/chat_server.py

REPO = Path(__file__).resolve().parents[1]

BODY_BYTES = 10_000_000


def main() -> None:
    from web.client import running_server, wait_until_loaded
    from dllab.chat.config import ChatParams
    from dllab.files import write_json
    from dllab.params import load
    from dllab.rag.evaluate import load_questions
    from dllab.runtime import machine_description

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/llm/model.gguf")
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--answer-mode", choices=["quote", "generate"], default="generate")
    parser.add_argument("--departing", type=int, default=40, help="clients that read one event and leave")
    parser.add_argument("--rounds", type=int, default=3, help="departure rounds")
    parser.add_argument("--idle", type=int, default=200, help="idle connections held open")
    parser.add_argument("--slow", type=int, default=30, help="slow-header clients held open")
    parser.add_argument("--health", type=int, default=200, help="/health requests timed with and without them")
    parser.add_argument("--out", default="reports/bench/hostile.json")
    args = parser.parse_args()
    params = _with_answer_mode(args.params, args.answer_mode)
    chat = load(params, ChatParams)
    questions = [q.text for q in load_questions(args.questions)]
    load_average = {"at_start": os.getloadavg()}

    with tempfile.TemporaryDirectory() as audio, running_server(
            "--params", params, "--model", args.model, "--index", args.index, "--audio-cache", audio) as (url, _):
        wait_until_loaded(url)
        battery = battery_counts(url)
        departures = [depart_and_ask_again(url, questions, args.departing, round_) for round_ in range(args.rounds)]
        crowd = health_beside_a_crowd(url, args.idle, args.slow, args.health)
        large = large_body(url)
    load_average["at_end"] = os.getloadavg()
    report = {
        "benchmark": "hostile",
        "answer_mode": args.answer_mode,
        "params": {"chat": chat.model_dump()},
        "battery": battery,
        "departures": {
            "rounds": departures,
            "places_back_s": _stats([d["places_back_s"] for d in departures]),
            "next_stream_status_s": _stats([d["next_stream"]["status_s"] for d in departures]),
            "next_stream_first_token_s": _stats([d["next_stream"]["first_token_s"] for d in departures
                                                 if d["next_stream"]["first_token_s"] is not None]),
            "next_chat_refused_503": sum(d["next_chat"]["status"] == 503 for d in departures),
        },
        "health_beside_a_crowd": crowd,
        "large_body": large,
        "targets": {"responses_5xx": 0, "streams_200_then_error": 0, "next_question_accepted_within_s": 2.0,
                    "health_p95_s_max": 0.1, "large_body_status": 413},
        "met": {
            "battery": battery["responses_5xx"] == 0 and battery["streams_200_then_error"] == 0,
            "departures": all(d["next_stream"]["status"] == 200 and d["next_stream"]["status_s"] <= 2.0
                              and d["next_chat"]["status"] == 200 for d in departures),
            "health": crowd["with_crowd_s"]["p95"] <= 0.1 and crowd["with_crowd_failures"] == 0,
            "large_body": large["status_headers_only"] == 413 and large["status_while_sending"] == 413,
        },
        "machine": machine_description(),
        "load_average_1_5_15_min": load_average,
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k not in ("params", "machine")}, indent=2))


def battery_counts(url: str) -> dict:
    from tests.support.mistakes import run_battery
    from web.responses import SECURITY_HEADERS

    records = run_battery(url, SECURITY_HEADERS)
    return {"requests": len(records), "responses_5xx": sum(r["status"] >= 500 for r in records),
            "streams_200_then_error": sum(r["streamed_error"] for r in records),
            "answers_4xx": sum(400 <= r["status"] < 500 for r in records),
            "without_json_error": [r["request"] for r in records if r["status"] >= 400 and not r["json_error"]],
            "without_security_headers": [r["request"] for r in records if not r["security_headers"]],
            "statuses": dict(sorted(Counter(r["status"] for r in records).items()))}


def depart_and_ask_again(url: str, questions: list[str], clients: int, round_: int) -> dict:
    """``clients`` streams at once, each reading one event then closing; then the next questions."""
    import http.client

    from web.client import get

    host, port = url.removeprefix("http://").split(":")

    def visit(number: int) -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        connection.request("POST", "/chat/stream", headers={"Content-Type": "application/json"},
                           body=json.dumps({"question": questions[(round_ * clients + number) % len(questions)]}))
        response = connection.getresponse()
        status = response.status
        if status == 200:
            response.readline()  # its first event (the question's clip): then the page is closed
        response.close()
        connection.close()
        return status

    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(visit, range(clients)))
    left = time.perf_counter()  # every client has gone: the next question comes at once
    accepted = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        asking = pool.submit(_timed_stream, url, questions[round_ % len(questions)], left, accepted)
        accepted.wait(300)  # from here the next question holds one place: every other one is a departed client's
        while json.loads(get(url, "/health")[2])["queue"]["in_use"] > (0 if asking.done() else 1):
            time.sleep(0.01)
        back = time.perf_counter() - left
        next_stream = asking.result()
    next_chat = _timed_chat(url, questions[(round_ + 1) % len(questions)])
    return {"clients": clients, "accepted": statuses.count(200), "refused_503": statuses.count(503),
            "places_back_s": round(back, 3), "next_stream": next_stream, "next_chat": next_chat}


def _timed_stream(url: str, question: str, since: float, answered: threading.Event) -> dict:
    """POST /chat/stream: its status and, counted from ``since`` (the departures), its 200 and first token;
    ``answered`` is set once the status has come."""
    import http.client

    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=300)
    connection.request("POST", "/chat/stream", body=json.dumps({"question": question}),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answered.set()
    result = {"status": response.status, "status_s": round(time.perf_counter() - since, 3), "first_token_s": None}
    if response.status == 200:
        for line in response:
            if line.startswith(b"event: token"):
                result["first_token_s"] = round(time.perf_counter() - since, 3)
                break
    response.close()
    connection.close()
    return result


def _timed_chat(url: str, question: str) -> dict:
    from web.client import post_json

    started = time.perf_counter()
    status, _, body = post_json(url, "/chat", {"question": question})
    return {"status": status, "total_s": round(time.perf_counter() - started, 3),
            "first_token_s": json.loads(body)["timings"].get("first_token_s") if status == 200 else None}


def health_beside_a_crowd(url: str, idle: int, slow: int, requests: int) -> dict:
    """/health latency alone, then with ``idle`` silent connections and ``slow`` clients sending half a
    request's headers one byte a second; all of them closed at the end."""
    host, port = url.removeprefix("http://").split(":")
    alone = _health_times(url, requests)
    crowd = []
    stop = threading.Event()
    try:
        crowd = [socket.create_connection((host, int(port)), timeout=30) for _ in range(idle + slow)]
        trickling = crowd[idle:]
        for client in trickling:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

        def trickle():
            while not stop.wait(1.0):
                for client in trickling:
                    client.sendall(b"a")

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(1)  # the server has accepted them all
        with_crowd = _health_times(url, requests)
    finally:
        stop.set()
        for client in crowd:
            client.close()
    return {"idle_connections": idle, "slow_header_clients": slow, "requests": requests,
            "alone_s": _stats([t for t in alone if t is not None]),
            "with_crowd_s": _stats([t for t in with_crowd if t is not None]),
            "with_crowd_failures": sum(t is None for t in with_crowd)}


def _health_times(url: str, count: int) -> list:
    from web.client import get

    times = []
    for _ in range(count):
        started = time.perf_counter()
        try:
            ok = get(url, "/health", timeout=10)[0] == 200
        except OSError:
            ok = False
        times.append(time.perf_counter() - started if ok else None)
    return times


def large_body(url: str) -> dict:
    """Headers announcing a 10 MB body: the answer with no body byte sent (so none was read); then again,
    sending the body as fast as the socket takes it until the answer comes."""
    host, port = url.removeprefix("http://").split(":")
    head = (f"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BODY_BYTES}\r\n\r\n").encode()
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        headers_only = _status(_answer(sock, b""))
    headers_only_s = time.perf_counter() - started
    chunk, sent, answer = b"x" * 65536, 0, b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        while sent < BODY_BYTES and not answer:
            try:
                answer = sock.recv(65536)
            except BlockingIOError:
                try:
                    sent += sock.send(chunk[:BODY_BYTES - sent])
                except BlockingIOError:
                    time.sleep(0.001)
                except OSError:  # closed by the server
                    break
        sock.setblocking(True)
        answer = _answer(sock, answer)
    return {"announced_bytes": BODY_BYTES, "status_headers_only": headers_only,
            "answered_headers_only_s": round(headers_only_s, 4), "status_while_sending": _status(answer),
            "body_bytes_sent_before_the_answer": sent}  # taken by the kernel's socket buffers, unread


def _answer(sock: socket.socket, received: bytes) -> bytes:
    """What the server sends until it closes or 10 s pass."""
    sock.settimeout(10)
    while True:
        try:
            more = sock.recv(65536)
        except OSError:
            return received
        if not more:
            return received
        received += more


def _status(answer: bytes) -> int | None:
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 else None


if __name__ == "__main__":
    main()
