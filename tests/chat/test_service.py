"""The chat service with the real model, a real index of tests/chat/docs and real espeak-ng."""
import pytest

from dllab.chat.client import is_wav
from dllab.chat.service import Busy, ChatService
from dllab.errors import UserError
from tests.chat import helpers

pytestmark = pytest.mark.slow


def test_a_turn_answers_with_sources_and_two_voices(chat_service):
    result = chat_service.ask("Quelles sont les différentes variantes de la tarte aux pommes ?", [])
    assert result["answer"].strip()
    assert result["sources"][0]["file"] == "tarte.txt" and "Tatin" in result["sources"][0]["excerpt"]
    assert len(result["sources"]) == helpers.TEST_CHAT["top_k"]
    question, answer = result["audio"]["question"], result["audio"]["answer"]
    assert question["voice"] != answer["voice"] and question["id"] != answer["id"]
    for clip in (question, answer):
        assert clip["seconds"] > 0.2 and is_wav(chat_service.audio_path(clip["id"]).read_bytes())
    t = result["timings"]
    assert 0 < t["answer_tokens"] <= helpers.TEST_LLM["max_tokens"]
    assert 0 < t["first_token_s"] <= t["total_s"] and t["prompt_tokens"] > 50


def test_events_come_in_order_and_tokens_make_the_answer(chat_service):
    with chat_service.open_turn("Comment faire une tarte aux pommes ?", []) as turn:
        events = list(turn)
    names = [e.name for e in events]
    assert names[0] == "audio" and events[0].data["role"] == "question"
    assert names[-3:] == ["sources", "audio", "done"] and events[-2].data["role"] == "answer"
    assert set(names[1:-3]) == {"token"}
    answer = "".join(e.data["text"] for e in events if e.name == "token").strip()
    assert answer == events[-1].data["answer"]


def test_a_full_queue_refuses_at_once_and_frees_places_on_close(chat_service):
    llm, chat, tts = helpers.sections()
    tiny = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                       {**chat, "queue_size": 1, "retry_after": 3})
    held = tiny.open_turn("Q ?", [])
    with pytest.raises(Busy) as busy:
        tiny.open_turn("Q ?", [])
    assert busy.value.retry_after == 3 and tiny.health()["queue"]["in_use"] == 1
    held.close()
    held.close()  # closing twice frees one place only
    tiny.open_turn("Q ?", []).close()
    assert tiny.health()["queue"]["in_use"] == 0


def test_health_says_what_is_loaded(chat_service):
    health = chat_service.health()
    assert health["model"]["file"] == "model.gguf" and health["index"]["chunks"] > 0
    assert health["tts"]["engine"] == "espeak" and set(health["tts"]["voices"]) == {"question", "answer"}


def test_start_up_names_everything_missing_and_the_stages(tmp_path):
    llm, chat, tts = helpers.sections()
    with pytest.raises(UserError) as err:
        ChatService.start(tmp_path / "model.gguf", tmp_path / "chromadb", tmp_path / "audio", llm, chat, tts)
    message = str(err.value)
    assert "dvc repro llm_download" in message and "dvc repro rag_index" in message
    assert "\n" not in message


def test_an_answer_without_words_is_replaced_and_still_spoken(chat_service, monkeypatch):
    monkeypatch.setattr(chat_service.model, "stream", lambda messages: iter([" ", "…"]))
    result = chat_service.ask("Comment faire une tarte aux pommes ?", [])
    assert result["answer"] == "Le modèle n'a pas donné de réponse."
    assert result["audio"]["answer"]["seconds"] > 0.2
