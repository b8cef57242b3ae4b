"""The chat through an OpenAI-compatible server: llama-cpp-python's own (``python -m llama_cpp.server``) on the
test GGUF, started here on a free loopback port (one thread, small context) and always killed."""
import json
import socket
from contextlib import ExitStack

import pytest
import yaml

from web.client import get, post_json, running_llama_server, running_server, stream_chat
from dllab.chat.config import LlmParams
from dllab.chat.download import REMOTE_MARKER, fetch_llm
from dllab.chat.llm import ChatModel, load_model
from dllab.chat.remote import RemoteChatModel, LLMServerDown
from dllab.errors import UserError
from tests.chat import helpers
from tests.conftest import copy_repo, run_in, set_params, stages_run
from tests.web.test_server import open_stream, read_events

QUESTION = "Comment faire une tarte aux pommes ?"
N_CTX = 1024


class LlamaServer:
    """The llama.cpp server on one port, which a test may kill and start again."""

    def __init__(self, model, port: int):
        self.model, self.port, self._stack = model, port, ExitStack()
        self.url = f"http://127.0.0.1:{port}/v1"

    def start(self) -> None:
        self.url, self.process = self._stack.enter_context(
            running_llama_server(self.model, threads=1, n_ctx=N_CTX, port=self.port))

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._stack.close()


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    from web.client import free_port

    server = LlamaServer(helpers.model_file(tmp_path_factory.getbasetemp()), free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


def remote_params(url: str, **llm) -> dict:
    """The test params file (generate mode) with llm.source on the server at ``url``."""
    raw = helpers.server_params()
    raw["llm"].update(source=f"openai:{url}", remote_model="smollm2", n_ctx=N_CTX, **llm)
    return raw


def remote_llm(url: str) -> LlmParams:
    """The ``llm`` section of ``remote_params(url)``."""
    return LlmParams.from_mapping(remote_params(url)["llm"])


@pytest.fixture(scope="module")
def web(llama, tmp_path_factory):
    """The real `python web/serve.py` whose LLM is the llama.cpp server (answers of up to 64 tokens)."""
    base = tmp_path_factory.getbasetemp()
    folder = tmp_path_factory.mktemp("remote-web")
    (folder / "params.yaml").write_text(yaml.safe_dump(remote_params(llama.url, max_tokens=64), allow_unicode=True),
                                        encoding="utf-8")
    with running_server("--params", str(folder / "params.yaml"), "--model", str(folder / "no-model-file"),
                        "--index", str(helpers.index_dir(base)), "--audio-cache", str(folder / "audio")) as (url, _):
        yield url


def test_the_chat_answers_through_the_server(web, llama):
    result = stream_chat(web, QUESTION)
    assert result["answer"] and len(result["tokens"]) > 1 and result["sources"][0]["file"] == "tarte.txt"
    assert result["timings"]["answer_tokens"] == len(result["tokens"]) and result["audio"]["answer"]
    status, _, body = post_json(web, "/chat", {"question": QUESTION})
    assert status == 200 and json.loads(body)["answer"]
    model = json.loads(get(web, "/health")[2])["model"]
    assert model == {"name": "smollm2", "server": llama.url, "n_ctx": N_CTX, "max_tokens": 64}


def test_a_server_killed_mid_answer_gives_an_error_event_then_503_until_it_is_back(web, llama):
    connection, response = open_stream(web, QUESTION)
    events = read_events(response)
    for name, _ in events:
        if name == "token":
            break
    else:
        pytest.fail("the stream ended before its first token")
    llama.kill()  # mid-answer: the answer has up to 64 tokens, one has arrived
    rest = list(events)
    connection.close()
    names = [name for name, _ in rest]
    assert names[-1] == "error" and "done" not in names, names
    error = rest[-1][1]["error"]
    assert f"the LLM server {llama.url} failed during the answer" in error

    for route in ("/chat/stream", "/chat"):  # refused before any work, with the reason
        status, headers, body = post_json(web, route, {"question": QUESTION}, timeout=30)
        assert status == 503 and headers["Retry-After"] == "7"
        assert json.loads(body)["error"] == (f"the LLM server {llama.url} does not answer (connection refused: is "
                                             "it running?); retry in 7 s")

    llama.start()  # back on the same port: the chat answers again, nothing to restart
    assert stream_chat(web, QUESTION)["answer"]


def test_a_server_that_accepts_but_never_answers_times_out(tmp_path):
    with socket.socket() as silent:  # listens, so connections succeed, but never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        model = RemoteChatModel.from_params(remote_llm(url).with_values(remote_connect_timeout=0.3,
                                                                        remote_read_timeout=0.5))
        with pytest.raises(LLMServerDown, match="does not answer"):
            model.check_available()
        with pytest.raises(LLMServerDown, match=r"sent nothing for 0.5 s \(llm.remote_read_timeout\)"):
            list(model.stream([{"role": "user", "content": "Bonjour"}]))
        with pytest.raises(LLMServerDown, match="sent nothing"):  # the next turn is refused at once
            model.check_available()
        model.close()


def test_a_server_that_is_down_is_a_503_before_the_turn_starts(chat_service):
    from web.client import free_port
    from dllab.chat.service import Busy, ChatService

    _, chat, _ = helpers.sections()
    llm = remote_llm(f"http://127.0.0.1:{free_port()}/v1")
    down = ChatService(load_model("unused", llm), chat_service.retriever, chat_service.speaker, chat)
    with pytest.raises(Busy, match="does not answer .connection refused"):
        down.open_turn(QUESTION, [])
    assert down.in_flight == 0
    quoting = ChatService(down.model, chat_service.retriever, chat_service.speaker,
                          chat.with_values(answer_mode="quote"))
    with quoting.open_turn(QUESTION, []) as turn:  # quote mode never needs the LLM
        assert [e.name for e in turn][-1] == "done"


def test_streams_that_end_badly_are_unavailable_with_the_reason():
    from dllab.chat.remote import _pieces

    token = 'data: {"choices": [{"delta": {"content": "Bon"}}]}'
    assert list(_pieces(iter(["", token, ": keep-alive", token, "data: [DONE]"]), "U")) == ["Bon", "Bon"]
    for lines, reason in (([token], "the stream ended without data: \\[DONE\\]"),
                          (['data: {"error": {"message": "out of memory"}}'], "out of memory"),
                          (["data: <html>"], "not JSON: '<html>'")):
        with pytest.raises(LLMServerDown, match=f"the LLM server U .*{reason}"):
            list(_pieces(iter(lines), "U"))


def test_the_token_estimate_over_counts_the_real_tokenizer(chat_service):
    remote = RemoteChatModel.from_params(remote_llm("http://127.0.0.1:9/v1"))
    texts = [(helpers.DOCS / "tarte.txt").read_text(encoding="utf-8"), QUESTION, "What is the secret? " * 20]
    for text in texts:
        assert remote.count_tokens(text) >= chat_service.model.count_tokens(text)


def test_llm_download_writes_a_marker_for_a_remote_source(tmp_path):
    info = fetch_llm(LlmParams(source="openai:http://127.0.0.1:8080/v1"), tmp_path / "model.gguf")
    assert info["remote"] and (tmp_path / "model.gguf").read_bytes().startswith(REMOTE_MARKER)
    with pytest.raises(UserError, match="written for a remote llm.source.*dvc repro llm_download"):
        ChatModel.load(tmp_path / "model.gguf", LlmParams())
    with pytest.raises(UserError, match=r"^params.yaml: llm.source = 'openai:localhost:8080' is not a server's "
                                        r"base URL; expected openai:http://HOST:PORT/v1"):
        fetch_llm(LlmParams(source="openai:localhost:8080"), tmp_path / "other.gguf")
    assert not (tmp_path / "other.gguf").exists()


@pytest.mark.slow
def test_dvc_repro_serve_and_chat_evaluate_through_the_server(llama, tmp_path, tmp_path_factory):
    repo = copy_repo(tmp_path / "repo")
    # the judge reads a GGUF's logits in-process: the chat tests' small one, not the pipeline's 1.1 GB
    set_params(repo, "judge", source=str(helpers.model_file(tmp_path_factory.getbasetemp())))
    set_params(repo, "llm", source=f"openai:{llama.url}", remote_model="smollm2", n_ctx=N_CTX, max_tokens=8,
               temperature=0.0)
    set_params(repo, "rag", docs_dir="tests/chat/docs", chunk_size=400, chunk_overlap=50)
    set_params(repo, "chat", top_k=2, answer_mode="generate", decline_below=0.0)
    result = run_in(repo, "dvc", "repro", "serve", timeout=900)
    # serve also speaks and listens, so the voice and speech-recognizer downloads run with it
    assert sorted(stages_run(result.stdout)) == ["judge_download", "kokoro_download", "llm_download", "rag_index",
                                                 "serve", "whisper_download"]
    assert "a marker only: the model is served by openai:" in result.stdout
    assert (repo / "models/llm/model.gguf").read_bytes().startswith(REMOTE_MARKER)
    for turn in json.loads((repo / "reports/serve/metrics.json").read_text())["turns"]:
        assert 0 < turn["answer_tokens"] <= 8

    questions = yaml.safe_load((repo / "data/eval/questions.yaml").read_text(encoding="utf-8"))[:2]
    (repo / "two.yaml").write_text(yaml.safe_dump(questions, allow_unicode=True), encoding="utf-8")
    run_in(repo, "python", "stages/chat_evaluate.py", "--questions", "two.yaml", "--out", "reports/chat-remote")
    metrics = json.loads((repo / "reports/chat-remote/metrics.json").read_text())
    assert metrics["questions"] == 2 and metrics["answer_mode"] == "generate"
    assert metrics["model"] == f"openai:{llama.url}"
    answers = json.loads((repo / "reports/chat-remote/answers.json").read_text())
    assert all(a["answer"] for a in answers)
