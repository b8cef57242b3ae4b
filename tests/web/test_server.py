"""The real server (`python web/serve.py`, waitress) in a child process: concurrency, load beyond the
queue, clean stops, start-up from any folder and start-up errors."""
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from web.client import SERVE_SCRIPT, get, is_wav, post, post_json, running_server, stream_chat
from tests.support.mistakes import BAD_REQUESTS
from tests.chat import helpers

pytestmark = pytest.mark.slow

# Each question and a word its best passage in tests/chat/docs must contain.
QUESTIONS = [("Quelles sont les différentes variantes de la tarte aux pommes ?", "Tatin"),
             ("Quel est le secret d'une bonne tarte aux pommes ?", "reinette"),
             ("Combien de pommes faut-il pour une tarte pour six personnes ?", "six pommes")]


def test_eight_concurrent_clients_are_all_answered_correctly(live_server):
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: stream_chat(live_server, q[0]), asked))
    for (question, word), result in zip(asked, results):
        assert result["answer"] and result["tokens"], question
        assert word in result["sources"][0]["excerpt"], (question, result["sources"][0])
        assert result["events"][-1] == "done"
        status, headers, audio = get(live_server, result["audio"]["answer"]["url"])
        assert status == 200 and headers["Content-Type"] == "audio/wav" and is_wav(audio)
    status, _, body = get(live_server, "/health")
    assert status == 200 and json.loads(body)["queue"]["in_use"] == 0


def test_the_bad_request_battery_over_http_gets_only_4xx_json(live_server):
    for body, content_type, status, fragment in BAD_REQUESTS:
        for path in ("/chat", "/chat/stream"):
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            got, headers, answer = post(live_server, path, data, content_type, timeout=60)
            assert (got, headers["Content-Type"]) == (status, "application/json"), (path, body[:60], answer[:200])
            assert fragment in json.loads(answer)["error"]


def test_a_client_that_leaves_mid_stream_frees_its_place(live_server):
    host, port = live_server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.request("POST", "/chat/stream", body=json.dumps({"question": QUESTIONS[0][0]}),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and response.readline().startswith(b"event: ")  # audio or token: the turn runs
    connection.close()  # gone before the answer
    deadline = time.monotonic() + 120
    while json.loads(get(live_server, "/health")[2])["queue"]["in_use"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert json.loads(get(live_server, "/health")[2])["queue"]["in_use"] == 0


def serve(tmp_path, *args):
    return subprocess.run([sys.executable, str(SERVE_SCRIPT), "--port", "0", *args], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


def test_without_model_or_index_the_chat_says_which_stages_to_run_and_the_rest_works(tmp_path, lab_files, mnist_raw):
    from tests.web.lab import mnist_test_digits

    params = tmp_path / "params.yaml"
    params.write_text(json.dumps(helpers.server_params()), encoding="utf-8")
    lab = ["--mnist-model", str(lab_files.mnist_model), "--lstm", str(lab_files.lstm), "--transformer",
           str(lab_files.transformer), "--tokenizer", str(lab_files.tokenizer), "--report", str(lab_files.report)]
    with running_server("--params", str(params), "--model", str(tmp_path / "none.gguf"), "--index",
                        str(tmp_path / "no-index"), "--audio-cache", str(tmp_path / "audio"), *lab) as (url, _):
        status, headers, body = post_json(url, "/chat", {"question": QUESTIONS[0][0]})
        error = json.loads(body)
        assert status == 503 and error["build"] == "dvc repro llm_download rag_index"
        assert "none.gguf is missing" in error["error"] and "dvc repro llm_download" in error["error"]
        assert "no-index" in error["error"] and "dvc repro rag_index" in error["error"]
        assert post_json(url, "/chat/stream", {"question": QUESTIONS[0][0]})[0] == 503
        search = get(url, "/search?q=tarte")
        assert search[0] == 503 and json.loads(search[2])["build"] == "dvc repro rag_index"
        health = json.loads(get(url, "/health")[2])
        assert health["sections"]["chat"] == {"ready": False, "loaded": False, "build": "dvc repro llm_download rag_index",
                                              "missing": [str(tmp_path / "none.gguf"),
                                                          str(tmp_path / "no-index" / "chroma.sqlite3")]}
        label, image = mnist_test_digits(mnist_raw)[0]
        digit = post_json(url, "/mnist/predict", {"pixels": image.reshape(-1).tolist()})
        assert digit[0] == 200 and json.loads(digit[2])["prediction"] == label
        assert get(url, "/report")[0] == 200 and get(url, "/")[0] == 200


def test_start_up_with_a_bad_param_or_voice_is_one_line(tmp_path):
    raw = helpers.server_params()
    raw["chat"]["server_threads"] = 0
    (tmp_path / "p.yaml").write_text(json.dumps(raw), encoding="utf-8")
    failed = serve(tmp_path, "--params", str(tmp_path / "p.yaml"))
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'p.yaml'}: chat.server_threads = 0")
    raw = helpers.server_params()
    raw["tts"]["engine"] = "espeak"
    raw["tts"]["answer_voice"]["espeak"] = "xx-no-such-voice"
    (tmp_path / "v.yaml").write_text(json.dumps(raw), encoding="utf-8")
    base = tmp_path
    failed = serve(tmp_path, "--params", str(tmp_path / "v.yaml"), "--model", str(base / "none.gguf"),
                   "--index", str(base / "none"))
    error = failed.stderr.strip().splitlines()[-1]
    assert failed.returncode == 2 and error.startswith("error: ") and "xx-no-such-voice" in error


def server_args(tmp_path, base, **chat) -> list[str]:
    """Arguments for a server of its own: test model and index (made once in ``base``), the test params
    with ``chat`` changes."""
    raw = helpers.server_params()
    raw["llm"]["max_tokens"] = 96  # answers long enough to keep the model busy while the test looks
    raw["chat"].update(chat)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return ["--params", str(tmp_path / "params.yaml"), "--model", str(helpers.model_file(base)),
            "--index", str(helpers.index_dir(base)), "--audio-cache", str(tmp_path / "audio")]


def open_stream(url: str, question: str):
    """A streamed turn left open: (connection, response) once the server has sent its status line."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.request("POST", "/chat/stream", body=json.dumps({"question": question}),
                       headers={"Content-Type": "application/json"})
    return connection, connection.getresponse()


def read_events(response):
    """The (name, data) of each Server-Sent Event until the stream ends."""
    name = None
    for line in response:
        line = line.decode("utf-8").rstrip("\r\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def health(url: str) -> dict:
    status, _, body = get(url, "/health", timeout=30)
    assert status == 200
    return json.loads(body)


def test_beyond_the_queue_503_at_once_while_light_routes_keep_answering(tmp_path, base):
    """Loopback only, bounded: 2 places, 2 long answers hold them, 6 more requests, then the light routes."""
    with running_server(*server_args(tmp_path, base, queue_size=2, server_threads=6)) as (url, _):
        holders = [open_stream(url, q) for q, _ in QUESTIONS[:2]]
        assert [response.status for _, response in holders] == [200, 200]
        first_events = read_events(holders[0][1])
        question_clip = next(data for name, data in first_events if name == "audio")
        assert question_clip["role"] == "question"

        with ThreadPoolExecutor(6) as pool:
            refused = list(pool.map(lambda q: post_json(url, "/chat", {"question": q}, timeout=60),
                                    [QUESTIONS[i % 3][0] for i in range(6)]))
        for status, headers, body in refused:
            assert status == 503 and headers["Retry-After"] == "7" and "busy" in json.loads(body)["error"]
        for path in ("/", "/static/app.js", "/static/app.css", question_clip["url"]):
            status, _, body = get(url, path, timeout=30)
            assert status == 200 and body, path
        # Asked after everything above: the two long answers were still holding both places meanwhile.
        assert health(url)["queue"] == {"places": 2, "in_use": 2}

        for connection, response in holders:
            assert [name for name, _ in read_events(response)][-1] == "done"
            connection.close()
        assert health(url)["queue"]["in_use"] == 0


def rag_copies(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("dllab-rag-*"))


def test_stops_are_clean_and_leave_nothing_behind(tmp_path, base):
    """Ctrl-C and SIGTERM during an answer end it with an event; a SIGKILLed server's index copy is removed
    by the next start: private index copies never accumulate."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    args = server_args(tmp_path, base)
    for stop in (signal.SIGINT, signal.SIGKILL, signal.SIGTERM):
        with running_server(*args, env=env) as (url, process):
            own = [copy for copy in rag_copies(temp) if f"-{process.pid}-" in copy]
            assert len(own) == 1 and rag_copies(temp) == own  # the copy of the server killed before is gone
            connection, response = open_stream(url, QUESTIONS[0][0])
            events = read_events(response)
            assert next(name for name, _ in events if name == "token")
            process.send_signal(stop)
            if stop == signal.SIGKILL:
                process.wait()
                connection.close()
                assert rag_copies(temp) == own  # no clean-up possible: left for the next start
                continue
            rest = list(events)  # the stream ends with an event, not a cut connection
            assert rest and rest[-1][0] == "error" and "stopping" in rest[-1][1]["error"], rest[-3:]
            assert process.wait(timeout=60) == 0
            connection.close()
        assert rag_copies(temp) == []


def test_the_default_files_are_found_from_any_folder(tmp_path, readme_repo):
    """`python /path/to/web/serve.py` run elsewhere: params, model, index and audio cache are the repository's."""
    with running_server(cwd=tmp_path, script=readme_repo / "web/serve.py") as (url, _):
        result = stream_chat(url, "Quelles pommes choisir pour une tarte ?")
        for clip in [*result["audio"].values(), *result["sentence_audio"]]:
            status, headers, body = get(url, clip["url"])
            assert status == 200 and is_wav(body), clip  # the 500 of every clip is gone
        assert health(url)["model"]["name"].startswith("Smollm2 135M")
    assert not list(tmp_path.iterdir())  # nothing written in the working folder...
    assert len(list((readme_repo / "models/speech_cache").glob("*.wav"))) >= 3  # ...the clips are the repo's


def test_too_few_threads_for_the_queue_is_refused_at_start_up(tmp_path, base):
    failed = serve(tmp_path, *server_args(tmp_path, base, queue_size=16, server_threads=16))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    error = failed.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {tmp_path / 'params.yaml'}: chat.server_threads = 16 is too few")
    assert "at least 20" in error


def test_listening_beyond_loopback_warns_that_there_is_no_authentication(tmp_path):
    # A voice that does not exist stops the start-up, so that nothing listens: the warning comes before
    # anything is loaded.
    raw = helpers.server_params()
    raw["tts"]["engine"] = "espeak"
    raw["tts"]["answer_voice"]["espeak"] = "xx-no-such-voice"
    (tmp_path / "v.yaml").write_text(json.dumps(raw), encoding="utf-8")
    failed = serve(tmp_path, "--host", "0.0.0.0", "--params", str(tmp_path / "v.yaml"),
                   "--model", str(tmp_path / "none.gguf"))
    assert "warning: listening on 0.0.0.0" in failed.stderr and "no authentication" in failed.stderr
    assert failed.returncode == 2
