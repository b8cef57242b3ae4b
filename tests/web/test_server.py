"""The real server (`python web/serve.py`, waitress) in a child process: concurrency and start-up errors."""
import http.client
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dllab.chat.client import SERVE_SCRIPT, get, is_wav, stream_chat
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


def test_a_client_that_leaves_mid_stream_frees_its_place(live_server):
    host, port = live_server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.request("POST", "/chat/stream", body=json.dumps({"question": QUESTIONS[0][0]}),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and response.readline().startswith(b"event: audio")
    connection.close()  # gone before the answer
    deadline = time.monotonic() + 120
    while json.loads(get(live_server, "/health")[2])["queue"]["in_use"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert json.loads(get(live_server, "/health")[2])["queue"]["in_use"] == 0


def serve(tmp_path, *args):
    return subprocess.run([sys.executable, str(SERVE_SCRIPT), "--port", "0", *args], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


def test_start_up_without_model_or_index_says_which_stages_to_run(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(json.dumps(helpers.server_params()), encoding="utf-8")
    failed = serve(tmp_path, "--params", str(params), "--model", str(tmp_path / "none.gguf"),
                   "--index", str(tmp_path / "no-index"), "--audio-cache", str(tmp_path / "audio"))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    error = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert "none.gguf is missing" in error[0] and "dvc repro llm_download" in error[0]
    assert "no-index" in error[0] and "dvc repro rag_index" in error[0]


def test_start_up_with_a_bad_param_or_voice_is_one_line(tmp_path):
    params = helpers.server_params()
    params["chat"]["server_threads"] = 0
    (tmp_path / "p.yaml").write_text(json.dumps(params), encoding="utf-8")
    failed = serve(tmp_path, "--params", str(tmp_path / "p.yaml"))
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'p.yaml'}: chat.server_threads = 0")
    params = helpers.server_params()
    params["tts"]["engine"] = "espeak"
    params["tts"]["answer_voice"]["espeak"] = "xx-no-such-voice"
    (tmp_path / "v.yaml").write_text(json.dumps(params), encoding="utf-8")
    base = tmp_path
    failed = serve(tmp_path, "--params", str(tmp_path / "v.yaml"), "--model", str(base / "none.gguf"),
                   "--index", str(base / "none"))
    error = failed.stderr.strip().splitlines()[-1]
    assert failed.returncode == 2 and error.startswith("error: ") and "xx-no-such-voice" in error
