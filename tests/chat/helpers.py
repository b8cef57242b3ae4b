"""What the chat and web tests share: the real small GGUF, a real index of tests/chat/docs, real espeak-ng.

Each is made once per test session (both test folders call these) and kept small so answers are quick:
short answers, two passages, greedy decoding.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from dllab.chat.config import ChatParams, LlmParams
from dllab.chat.download import GGUF_MAGIC, fetch_llm
from dllab.params import S, load
from dllab.rag.config import RagParams
from dllab.speech.config import TtsParams
from tests.conftest import REPO

DOCS = Path(__file__).parent / "docs"
TEST_LLM = {"max_tokens": 12, "temperature": 0.0, "n_ctx": 1024}
# The LLM's own path (generate mode, never declining) is what these tests exercise; quote mode and declining
# have their tests in test_answer.py.
TEST_CHAT = {"top_k": 2, "queue_size": 8, "retry_after": 7, "server_threads": 12, "answer_mode": "generate",
             "decline_below": 0.0}
TEST_RAG = RagParams(chunk_size=400, chunk_overlap=50, embedding_model="e5-multilingual")
# espeak-ng, the light voice: these servers test the chat, and a pipeline's models/kokoro would make `auto`
# pick Kokoro (the README's server, in test_browser.py, says answers with it).
TEST_TTS = {"engine": "espeak"}
_made: dict = {}


def repo_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))


def repo_section(model: type[S]) -> S:
    """One section of the repository's params.yaml, checked."""
    return load(REPO / "params.yaml", model)


def server_params() -> dict:
    """The repository's params.yaml with the test overrides (a whole file, for the server's --params)."""
    raw = repo_params()
    raw["llm"].update(TEST_LLM)
    raw["chat"].update(TEST_CHAT)
    raw["tts"].update(TEST_TTS)
    return raw


def sections() -> tuple[LlmParams, ChatParams, TtsParams]:
    """The ``llm``, ``chat`` and ``tts`` sections of ``server_params()``."""
    raw = server_params()
    return (LlmParams.from_mapping(raw["llm"]), ChatParams.from_mapping(raw["chat"]),
            TtsParams.from_mapping(raw["tts"]))


def model_file(base: Path) -> Path:
    """models/llm/model.gguf when the pipeline made it, else the default source fetched once."""
    local = REPO / "models" / "llm" / "model.gguf"
    if local.is_file() and local.read_bytes()[:4] == GGUF_MAGIC:
        return local
    path = base / "llm" / "model.gguf"
    if not path.is_file():
        fetch_llm(LlmParams.from_mapping(repo_params()["llm"]), path)
    return path


def index_dir(base: Path) -> Path:
    from dllab.rag.index import build_index

    path = base / "chat-index"
    if "index" not in _made:
        build_index(DOCS, path, TEST_RAG)
        _made["index"] = path
    return path


def service(base: Path):
    """One ChatService for the whole session (the model is loaded once)."""
    from dllab.chat.service import ChatService

    if "service" not in _made:
        llm, chat, tts = sections()
        _made["service"] = ChatService.start(model_file(base), index_dir(base), base / "audio", llm, chat, tts)
    return _made["service"]
