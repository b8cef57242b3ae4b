"""The chat service with the real model, a real index of tests/chat/docs and real espeak-ng."""
import pytest

from web.client import is_wav
from dllab.chat.service import Busy, ChatService
from dllab.errors import ParamError, UserError
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


def roles(events) -> list[str]:
    return [e.data["role"] + (f" {e.data['index']}" if "index" in e.data else "") for e in events if e.name == "audio"]


def test_events_come_in_order_and_tokens_make_the_answer(chat_service):
    with chat_service.open_turn("Comment faire une tarte aux pommes ?", []) as turn:
        events = list(turn)
    names = [e.name for e in events]
    assert names[-2:] == ["audio", "done"] and events[-2].data["role"] == "answer"
    assert names.count("sources") == 1 and names.index("sources") > max(i for i, n in enumerate(names) if n == "token")
    said = roles(events)
    assert said[0] == "question" and said[-1] == "answer"
    assert said[1:-1] == [f"answer_sentence {i}" for i in range(len(said) - 2)] and len(said) >= 3
    answer = "".join(e.data["text"] for e in events if e.name == "token").strip()
    assert answer == events[-1].data["answer"]


def scripted(pieces):
    """A model that answers with these text pieces (the speech around it is real)."""
    return lambda messages: iter(pieces)


def test_each_answer_sentence_is_said_as_soon_as_it_is_written(chat_service, monkeypatch):
    pieces = ["La Tatin", " est renversée.", " Elle est", " caramélisée !", " **", " Fin"]
    monkeypatch.setattr(chat_service.model, "stream", scripted(pieces))
    with chat_service.open_turn("Et la Tatin ?", []) as turn:
        events = list(turn)
    sentences = [e.data for e in events if e.name == "audio" and e.data["role"] == "answer_sentence"]
    assert [s["index"] for s in sentences] == [0, 1, 2]  # "**" alone has nothing to say
    expected = ["La Tatin est renversée.", "Elle est caramélisée !", "Fin"]
    for clip, text in zip(sentences, expected):
        assert clip["id"] == chat_service.speaker.speak(text, "answer").id  # the same clip, from the cache
    # A sentence's clip is announced once the tokens that finish it are out (" **" ends the second one).
    names = [(e.name, e.data.get("index")) for e in events]
    assert names.index(("token", None)) < names.index(("audio", 0))
    assert [e.data.get("text") for e in events].index(" **") < names.index(("audio", 1))
    whole = events[-2].data
    assert whole["role"] == "answer" and whole["seconds"] > sum(s["seconds"] for s in sentences)
    assert events[-1].data["timings"]["first_sentence_s"] <= events[-1].data["timings"]["first_answer_audio_s"]


def test_the_question_is_said_beside_the_answer_not_before_it(chat_service, monkeypatch):
    """A slow voice for the question (Bark is slower than real time on CPU) does not hold the answer back."""
    import threading

    release = threading.Event()
    speak = chat_service.speaker.speak

    def slow_question(text, role):
        if role == "question":
            release.wait(60)
        return speak(text, role)

    monkeypatch.setattr(chat_service.speaker, "speak", slow_question)
    monkeypatch.setattr(chat_service.model, "stream", scripted(["Première.", " Deuxième.", " Fin"]))
    # words the documents use, so it is not declined as off topic
    with chat_service.open_turn("Une question lente à dire sur la tarte ?", []) as turn:
        events = iter(turn)
        assert next(events).name == "queued"
        first = next(events)
        assert first.name == "token"  # the answer streams while the question is still being said
        release.set()
        rest = list(events)
    # The page says clips in the order they come: the question's, then the sentences'.
    assert roles([first, *rest]) == ["question", "answer_sentence 0", "answer_sentence 1", "answer_sentence 2",
                                     "answer"]


def test_a_stop_ends_the_turns_in_flight_with_an_error_event_and_refuses_new_ones(chat_service, monkeypatch):
    llm, chat, tts = helpers.sections()
    stopping = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker, chat)
    monkeypatch.setattr(chat_service.model, "stream", scripted(["Un", " mot", " puis", " un", " autre."]))
    turn = stopping.open_turn("Comment faire une tarte aux pommes ?", [])
    events = iter(turn)
    assert next(e for e in events if e.name == "token").data["text"] == "Un"
    stopping.stop()
    rest = list(events)
    assert rest[-1].name == "error" and "stopping" in rest[-1].data["error"]
    assert [e.name for e in rest].count("token") <= 1 and "done" not in [e.name for e in rest]
    assert stopping.health()["queue"]["in_use"] == 0 and stopping.health()["stopping"]
    with pytest.raises(Busy, match="the server is stopping"):
        stopping.open_turn("Encore ?", [])


def test_a_full_queue_refuses_at_once_and_frees_places_on_close(chat_service):
    llm, chat, tts = helpers.sections()
    tiny = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                       chat.with_values(queue_size=1, retry_after=3))
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
    # The name the GGUF gives itself (general.name), read by llama.cpp from the file's metadata.
    assert health["model"]["name"] == chat_service.model.llama.metadata["general.name"]
    assert health["model"]["name"] == "Smollm2 135M 8k Lc100K Mix1 Ep2"  # SmolLM2-135M-Instruct names itself so
    assert health["tts"]["engine"] == "espeak" and set(health["tts"]["voices"]) == {"question", "answer"}


def test_capacity_needs_threads_beyond_the_queue_and_voices_long_enough():
    from dllab.chat.service import check_capacity

    llm, chat, tts = helpers.sections()
    check_capacity(chat.with_values(queue_size=16, server_threads=20), tts.with_values(max_chars=4000))
    with pytest.raises(ParamError) as err:  # the threads are the chat section's own check
        chat.with_values(queue_size=16, server_threads=16)
    message = str(err.value)
    assert "chat.server_threads = 16 is too few for chat.queue_size = 16" in message and "at least 20" in message
    with pytest.raises(UserError) as err:
        check_capacity(chat.with_values(max_question_chars=1000), tts.with_values(max_chars=500))
    message = str(err.value)
    assert "tts.max_chars = 500" in message and "at least 1000" in message


def test_start_up_names_everything_missing_and_the_stages(tmp_path):
    llm, chat, tts = helpers.sections()
    with pytest.raises(UserError) as err:
        ChatService.start(tmp_path / "model.gguf", tmp_path / "chromadb", tmp_path / "audio", llm, chat, tts)
    message = str(err.value)
    assert "dvc repro llm_download" in message and "dvc repro rag_index" in message
    assert "\n" not in message


def test_an_answer_without_words_is_replaced_and_still_spoken(chat_service, monkeypatch):
    monkeypatch.setattr(chat_service.model, "stream", scripted([" ", "…", " **"]))
    result = chat_service.ask("Comment faire une tarte aux pommes ?", [])
    assert result["answer"] == "Le modèle n'a pas donné de réponse."
    assert result["audio"]["answer"]["seconds"] > 0.2
    assert set(result["audio"]) == {"question", "answer"}  # the JSON answer has the two whole clips


class Client:
    """A client that can leave: ``departed`` is what the web server would tell the turn."""

    def __init__(self):
        self.gone = False

    def departed(self) -> bool:
        return self.gone


@pytest.mark.parametrize("mode", ["quote", "generate"])
def test_a_client_that_leaves_while_queued_gives_its_place_back_at_once(chat_service, monkeypatch, mode):
    """Before, a waiting turn only noticed its client had gone when it first wrote, after the turns before it."""
    import threading

    llm, chat, tts = helpers.sections()
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                          chat.with_values(queue_size=2, answer_mode=mode, decline_below=0.0))
    holder = service.open_turn("Comment faire une tarte aux pommes ?", [])
    running = iter(holder)
    assert next(e for e in running if e.name == "token")  # holds the model, and keeps it until closed
    client = Client()
    waiting = service.open_turn("Quel est le secret d'une bonne tarte aux pommes ?", [], client.departed)
    with pytest.raises(Busy):
        service.open_turn("Encore ?", [])
    seen, ended = [], threading.Event()

    def wait_in_line():  # as the server's thread does: iterate the turn until it ends
        seen.extend(event.name for event in waiting)
        ended.set()

    threading.Thread(target=wait_in_line, daemon=True).start()
    client.gone = True
    assert ended.wait(30) and "token" not in seen and "done" not in seen  # ended while the holder still runs
    assert service.health()["queue"]["in_use"] == 1 and waiting.departed_early
    service.open_turn("Une autre ?", []).close()  # its place is free
    holder.close()
    assert service.health()["queue"]["in_use"] == 0


def test_a_question_arriving_as_a_crowd_leaves_takes_a_departed_clients_place_not_a_503(chat_service):
    """Waiting turns see their clients leave at their next poll: a newcomer just after must not be refused."""
    llm, chat, tts = helpers.sections()
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                          chat.with_values(queue_size=2))
    crowd = [Client(), Client()]
    turns = [service.open_turn("Comment faire une tarte aux pommes ?", [], client.departed) for client in crowd]
    with pytest.raises(Busy):  # nobody has left
        service.open_turn("Encore ?", [])
    crowd[1].gone = True  # its turn has not looked yet (never iterated here)
    newcomer = service.open_turn("Encore ?", [])
    assert service.health()["queue"]["in_use"] == 2
    with pytest.raises(Busy):  # one place was freed, once
        service.open_turn("Et encore ?", [])
    for turn in [*turns, newcomer]:
        turn.close()
    assert service.health()["queue"]["in_use"] == 0 and service._places.acquire(blocking=False)
    service._places.release()


@pytest.mark.parametrize("mode", ["quote", "generate"])
def test_a_client_that_leaves_mid_answer_stops_the_generation(chat_service, monkeypatch, mode):
    """A page reload mid-answer: the next piece is not asked of the model, the model is free for the next turn."""
    llm, chat, tts = helpers.sections()
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                          chat.with_values(answer_mode=mode, decline_below=0.0))
    asked = []

    def pieces(*args):
        for piece in ["Un", " mot.", " Puis", " un", " autre", " encore."]:
            asked.append(piece)
            yield piece

    monkeypatch.setattr(service.answerer, "stream", pieces)
    client = Client()
    turn = service.open_turn("Comment faire une tarte aux pommes ?", [], client.departed)
    events = iter(turn)
    assert next(e for e in events if e.name == "token").data["text"] == "Un"
    client.gone = True
    assert list(events) == [] and asked == ["Un"] and turn.departed_early
    assert service.health()["queue"]["in_use"] == 0 and service._model_lock.acquire(blocking=False)
    service._model_lock.release()


def test_ask_tells_its_caller_that_the_client_left(chat_service):
    from dllab.chat.service import Departed

    with pytest.raises(Departed):
        chat_service.ask("Comment faire une tarte aux pommes ?", [], lambda: True)
    assert chat_service.health()["queue"]["in_use"] == 0


def test_a_client_that_leaves_during_the_search_is_not_answered(chat_service, monkeypatch):
    """Its prompt is never given to the model: llama.cpp cannot be stopped while it reads one."""
    client, search = Client(), chat_service.retriever.search

    def search_then_leave(*args, **kwargs):
        client.gone = True
        return search(*args, **kwargs)

    monkeypatch.setattr(chat_service.retriever, "search", search_then_leave)
    monkeypatch.setattr(chat_service.model, "stream", lambda messages: pytest.fail("the model was asked"))
    turn = chat_service.open_turn("Comment faire une tarte aux pommes ?", [], client.departed)
    assert [e.name for e in turn if e.name != "audio"] == ["queued"] and turn.departed_early


def test_a_client_that_leaves_while_the_model_reads_the_prompt_stops_the_reading(chat_service):
    """llama.cpp asks between its computation steps: no token comes first, and the model still answers after."""
    import threading

    class ReadingClient(Client):
        def departed(self) -> bool:  # gone as soon as llama.cpp asks, from its generation thread
            self.gone = self.gone or threading.current_thread().name == "llama-generation"
            return self.gone

    llm, chat, tts = helpers.sections()
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                          chat.with_values(answer_mode="generate"))
    client = ReadingClient()
    turn = service.open_turn("Comment faire une tarte aux pommes ?", [], client.departed)
    names = [event.name for event in turn]
    assert client.gone and turn.departed_early and "token" not in names and "done" not in names
    assert service.health()["queue"]["in_use"] == 0
    assert service.ask("Comment faire une tarte aux pommes ?", [])["answer"]  # the same model, still sound


class LoggingJudge:
    """A judge asked about every question (judge_above 1): it notes in ``log`` when it is asked."""

    def __init__(self, log):
        self.log = log

    def p_yes(self, question, text):
        self.log.append("judge")
        return 0.9

    def interrupt_when(self, check):
        pass


def test_with_nobody_ahead_the_question_is_said_after_the_judge_and_while_waiting_otherwise(chat_service, monkeypatch):
    """The judge's seconds on 2 cores are not shared with the question's voice; a waiting turn's question is said
    while it waits."""
    import threading
    import time

    llm, chat, tts = helpers.sections()
    log = []
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                          chat.with_values(answer_mode="quote", judge_above=1.0, judge_below=0.1), LoggingJudge(log))
    speak = chat_service.speaker.speak

    def logged(text, role):
        log.append(role)
        return speak(text, role)

    monkeypatch.setattr(chat_service.speaker, "speak", logged)
    alone = service.ask("Combien de temps faut-il cuire la tarte aux pommes ?", [])
    assert log[:2] == ["judge", "question"] and alone["audio"]["question"]["seconds"] > 0.2
    log.clear()
    service._model_lock.acquire()  # another turn is answered: this one waits
    said = []
    waiting = threading.Thread(target=lambda: said.extend(service.open_turn("Quelle température pour la tarte ?", [])))
    waiting.start()
    for _ in range(200):
        if log:
            break
        time.sleep(0.05)
    assert log == ["question"]  # said while it waits, before its judge
    service._model_lock.release()
    waiting.join(120)
    assert log[:2] == ["question", "judge"] and said[-1].name == "done"
    assert [e.data["role"] for e in said if e.name == "audio"][0] == "question"
