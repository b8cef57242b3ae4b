"""One chat turn: say the question, retrieve passages, stream the model's answer and say it sentence by sentence.

The model serves one generation at a time. Requests beyond the model wait in a bounded queue
(``chat.queue_size`` places, the running one included); when it is full, ``Busy`` is raised at once
so the API answers 503 with Retry-After instead of piling up threads and memory.

Speech runs on its own threads beside the generation: the question is said while its turn waits,
searches and generates, and each answer sentence is said as soon as the model has finished it, so
its ``audio`` event follows the sentence's tokens closely. The whole answer is also joined into one
clip at the end (for JSON clients and to replay).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, Iterator

from dllab.chat.answer import Answerer, without_citations
from dllab.chat.llm import Interrupted, load_model
from dllab.chat.prompt import no_answer
from dllab.chat.remote import LLMServerDown
from dllab.errors import UserError
from dllab.speech.text import SentenceCutter, speakable

if TYPE_CHECKING:
    from dllab.chat.config import ChatParams, JudgeParams, LlmParams
    from dllab.speech.config import TtsParams

log = logging.getLogger("chat.service")

SENTENCE_MAX_CHARS = 300  # longest piece of an answer said at once: longer sentences are cut at clauses
POLL_S = 0.1              # how often a waiting turn looks for finished speech and for a stop


CHAT_BUILD = "dvc repro llm_download rag_index"  # the stages that make the chat's model and index


def missing_chat_files(model_path, index_dir) -> list[str]:
    """The chat's files that do not exist: the GGUF model and the index's database."""
    return [str(path) for path in (Path(model_path), Path(index_dir) / "chroma.sqlite3") if not path.exists()]


class Busy(Exception):
    """No place for this request (the queue is full, or the server is stopping); retry after ``retry_after`` s."""

    def __init__(self, retry_after: int, reason: str = "the chatbot is busy"):
        super().__init__(f"{reason}; retry in {retry_after} s")
        self.retry_after = retry_after


class Stopping(Exception):
    """The server is stopping: a turn in flight ends with an ``error`` event."""


class Departed(Exception):
    """The client went away (its connection closed) while its turn waited or ran: the turn ends at once, its
    place and the model freed for the next."""


@dataclass
class Event:
    name: str   # "audio", "token", "sources", "done" or "error"
    data: dict


def check_capacity(chat: ChatParams, tts: TtsParams) -> None:
    """UserError unless the voices can say what ``chat`` lets in (checked at start-up; the threads for the queue
    are checked by ``ChatParams`` itself)."""
    longest = max(chat.max_question_chars, SENTENCE_MAX_CHARS)
    if tts.max_chars < longest:
        raise UserError(
            f"tts.max_chars = {tts.max_chars} cannot say a question of chat.max_question_chars = "
            f"{chat.max_question_chars} characters or an answer sentence of {SENTENCE_MAX_CHARS}; "
            f"set tts.max_chars to at least {longest}")


class ChatService:
    def __init__(self, model, retriever, speaker, params: ChatParams, judge=None):
        """``model``: a ``ChatModel`` (in-process) or a ``RemoteChatModel`` (see ``dllab.chat.llm.load_model``);
        ``judge``: a ``dllab.chat.judge.Judge`` for ambiguous evidence, or None."""
        self.model, self.retriever, self.speaker, self.params = model, retriever, speaker, params
        self.judge = judge
        self.answerer = Answerer(retriever, model, params, judge)
        self.model_name = model.name
        self._places = threading.BoundedSemaphore(params.queue_size)
        self._model_lock = threading.Lock()   # llama.cpp and retrieval: one turn at a time
        self._placed: set[Turn] = set()       # the accepted turns holding a place (for /health)
        self._placed_lock = threading.Lock()
        self._stopping = threading.Event()
        # Two threads: a question is said while the turn before it has its answer sentences said.
        self._speech = ThreadPoolExecutor(max_workers=2, thread_name_prefix="speech")

    @classmethod
    def start(cls, model_path, index_dir, audio_dir, llm_params: LlmParams, chat_params: ChatParams,
              tts_params: TtsParams, kokoro_dir=None, judge_path=None,
              judge_params: JudgeParams | None = None) -> "ChatService":
        """Load the model, the index, the voices (Kokoro's from ``kokoro_dir``, if given) and the judge (from
        ``judge_path`` with ``judge_params``, when given and ``chat.judge_above`` > 0); one UserError lists
        everything that is missing."""
        from dllab.rag.search import Retriever
        from dllab.speech.tts import Speaker

        problems = []
        model = _attempt(lambda: load_model(model_path, llm_params), problems)
        retriever = _attempt(lambda: Retriever.open(str(index_dir)), problems)
        speaker = _attempt(lambda: Speaker.from_params(tts_params, audio_dir, kokoro_dir), problems)
        judge = None
        if judge_path is not None and chat_params.judge_above > 0:
            from dllab.chat.judge import Judge

            judge = _attempt(lambda: Judge.load(judge_path, judge_params.threads), problems)
        if problems:
            if retriever is not None:
                retriever.close()
            raise UserError("cannot start the chatbot: " + " | ".join(problems))
        return cls(model, retriever, speaker, chat_params, judge)

    def health(self) -> dict:
        return {
            "model": self.model.info(),
            "index": {"chunks": len(self.retriever)},
            "tts": {"engine": self.speaker.engine, "voices": self.speaker.voices},
            "queue": {"places": self.params.queue_size, "in_use": self.in_flight},
            "answer": {"mode": self.params.answer_mode,
                       "judge": self.judge.info() if self.judge is not None else None},
            "limits": {"max_question_chars": self.params.max_question_chars,
                       "max_history_messages": self.params.max_history_messages},
            "stopping": self._stopping.is_set(),
        }

    @property
    def in_flight(self) -> int:
        return len(self._placed)

    def audio_path(self, clip_id: str) -> Path | None:
        return self.speaker.clip_path(clip_id)

    def open_turn(self, question: str, history: list[dict], departed: Callable[[], bool] | None = None) -> "Turn":
        """Take a place in the queue (or raise Busy) and return the turn's events, to iterate once.

        ``departed``: whether the client has gone away (asked every ``POLL_S`` while the turn waits, and at each
        piece of its answer); the turn then ends at once, without an event."""
        if self._stopping.is_set():
            raise Busy(self.params.retry_after, "the server is stopping")
        if self.params.answer_mode == "generate":
            try:
                self.model.check_available()  # a remote LLM server that is down: 503 now, not a failed stream
            except LLMServerDown as exc:
                raise Busy(self.params.retry_after, str(exc)) from None
        if not self._places.acquire(blocking=False):
            self._reclaim_departed_places()
            if not self._places.acquire(blocking=False):
                raise Busy(self.params.retry_after)
        with self._placed_lock:
            turn = Turn(self, question, history, departed, ahead=len(self._placed))
            self._placed.add(turn)
        return turn

    def _reclaim_departed_places(self) -> None:
        """The places of turns whose clients have gone, given back now: a waiting turn sees its client leave at
        its next poll (``POLL_S``), and a question arriving just after a crowd left would get 503 meanwhile."""
        with self._placed_lock:
            placed = list(self._placed)
        for turn in placed:
            if turn.departed():
                turn.give_back_place()

    def ask(self, question: str, history: list[dict], departed: Callable[[], bool] | None = None) -> dict:
        """The whole turn at once: {answer, sources, audio: {question, answer}, timings}; Departed if the client
        went away before it."""
        result = {"audio": {}}
        with self.open_turn(question, history, departed) as turn:
            for event in turn:
                if event.name == "audio" and event.data["role"] in ("question", "answer"):
                    result["audio"][event.data["role"]] = event.data
                elif event.name in ("sources", "done"):
                    result.update(event.data)
                elif event.name == "error":
                    raise Busy(self.params.retry_after, event.data["error"])
        if turn.departed_early:
            raise Departed()
        return result

    def stop(self) -> None:
        """New turns get Busy; turns in flight end at their next step with an ``error`` event."""
        self._stopping.set()

    def close(self) -> None:
        """Stop, then free what the service holds: the speech threads and the private copy of the index."""
        self.stop()
        self._speech.shutdown(wait=False, cancel_futures=True)
        self.retriever.close()
        self.model.close()

    def _leave_queue(self, turn: "Turn") -> None:
        with self._placed_lock:
            self._placed.discard(turn)
        self._places.release()

    def _check_wanted(self, turn: "Turn") -> None:
        """Stopping when the server stops, Departed when the turn's client has gone away."""
        if self._stopping.is_set():
            raise Stopping()
        if turn.departed():
            raise Departed()

    def _events(self, question: str, history: list[dict], turn: "Turn") -> Iterator[Event]:
        try:
            yield from self._turn(question, history, turn)
        except Stopping:
            yield Event("error", {"error": "the server is stopping; ask again when it is back"})
        except Departed:  # nobody to tell
            turn.departed_early = True
            log.info("a client left before its answer was complete; its turn ended")
        except LLMServerDown as exc:  # the remote LLM server failed mid-answer
            log.warning("%s", exc)
            yield Event("error", {"error": str(exc), "retry_after": self.params.retry_after})

    def _turn(self, question: str, history: list[dict], turn: "Turn") -> Iterator[Event]:
        started = turn.started
        timings: dict = {}
        voice = turn.voice = _Voice(self.speaker, self._speech)
        # At once: the client knows it has a place (its status line goes with this), and one that leaves from
        # here on is seen while it waits, is searched for, or is judged.
        yield Event("queued", {"ahead": turn.ahead})

        # The question's clip is made while the turn waits for another's answer; with nobody ahead, once its
        # answer is planned: the judge's seconds on 2 cores are then not shared with the voice.
        question_said = not self._model_lock.acquire(blocking=False)
        if question_said:
            voice.say(question, "question")
            yield from self._wait_for_model(voice, timings, turn)  # takes self._model_lock
        else:
            timings["queue_wait_s"] = 0.0
        try:
            searching = time.perf_counter()
            hits = self.retriever.search(self.answerer.query(question, history), k=self.params.top_k)
            self._check_wanted(turn)
            plan = turn.plan = self._plan(question, hits, history, turn)
            timings["retrieval_s"] = round(time.perf_counter() - searching, 3)
            if not question_said:
                voice.say(question, "question")
            yield from self._audio_events(voice, timings, started)  # the question's clip, if said by now
            if plan.prompt is not None:
                timings["prompt_tokens"] = plan.prompt.tokens
            self._check_wanted(turn)
            # While the model reads the prompt (no piece comes to check at), llama.cpp asks it.
            self.model.interrupt_when(lambda: self._stopping.is_set() or turn.departed())
            try:
                answer = yield from self._relay(self.answerer.stream(question, plan), voice, timings, turn,
                                                generated=plan.prompt is not None)
            except Interrupted:
                self._check_wanted(turn)  # Stopping or Departed
                raise
            finally:
                self.model.interrupt_when(None)
        finally:
            self._model_lock.release()
        if not speakable(answer):
            answer = no_answer(question)
            voice.say(answer, "answer")
        yield Event("sources", {"sources": [self._source(hit, n) for n, hit in enumerate(plan.hits, 1)],
                                "mode": plan.mode, "declined": plan.declined, "evidence": round(plan.evidence, 4),
                                "cited": sorted({q.passage for q in plan.quotes}), "kind": plan.kind,
                                "invited": bool(plan.reply),
                                "judged": None if plan.judged is None else round(plan.judged, 4)})
        spoken = yield from self._said_to_the_end(voice, timings, turn)
        yield Event("audio", _clip(spoken, "answer"))
        timings["total_s"] = _since(started)
        history_kept = plan.prompt.history_kept if plan.prompt is not None else 0
        yield Event("done", {"answer": answer, "history_kept": history_kept, "timings": timings})

    def _plan(self, question: str, hits: list, history: list[dict], turn: "Turn"):
        """The answerer's plan; the judge, if it is asked, stops reading when the client leaves or the server
        stops (seconds of a 1.5B model's time on 2 cores that nobody would wait for)."""
        if self.judge is None:
            return self.answerer.plan(question, hits, history)
        self.judge.interrupt_when(lambda: self._stopping.is_set() or turn.departed())
        try:
            return self.answerer.plan(question, hits, history)
        except Interrupted:
            self._check_wanted(turn)  # Stopping or Departed
            raise
        finally:
            self.judge.interrupt_when(None)

    def _wait_for_model(self, voice: "_Voice", timings: dict, turn: "Turn") -> Iterator[Event]:
        """Take the model lock, handing on the question's clip and watching for a stop or a departure meanwhile."""
        waiting = time.perf_counter()
        while not self._model_lock.acquire(timeout=POLL_S):
            self._check_wanted(turn)
            yield from self._audio_events(voice, timings, turn.started)
        try:
            self._check_wanted(turn)
        except (Stopping, Departed):
            self._model_lock.release()
            raise
        timings["queue_wait_s"] = round(time.perf_counter() - waiting, 3)

    def _relay(self, pieces: Iterator[str], voice: "_Voice", timings: dict, turn: "Turn",
               generated: bool) -> Generator[Event, None, str]:
        """Hand each text piece on as a ``token`` event and each finished sentence to the voice (citation marks
        are not said); return the text. ``generated``: the pieces are the model's tokens (timed as such)."""
        cutter = SentenceCutter(SENTENCE_MAX_CHARS, first_clause=True)  # the first clip is heard sooner
        started = turn.started
        text, first, last = [], None, None
        for piece in pieces:
            last = time.perf_counter()
            if first is None:
                first = last
                timings["first_token_s"] = _since(started)
            text.append(piece)
            yield Event("token", {"text": piece})
            for sentence in cutter.feed(piece):
                timings.setdefault("first_sentence_s", _since(started))
                voice.say(without_citations(sentence), "answer")
            yield from self._audio_events(voice, timings, started)
            self._check_wanted(turn)  # a departure stops the generation here: closing `pieces` ends it
        for sentence in cutter.rest():
            timings.setdefault("first_sentence_s", _since(started))
            voice.say(without_citations(sentence), "answer")
        if generated:
            timings.update(_generation_timings(len(text), first, last))
        return "".join(text).strip()

    def _said_to_the_end(self, voice: "_Voice", timings: dict, turn: "Turn") -> Generator[Event, None, object]:
        """The audio events of the clips still being said, then the whole answer's clip (returned)."""
        while voice.waiting:
            voice.wait(POLL_S)
            self._check_wanted(turn)
            yield from self._audio_events(voice, timings, turn.started)
        spoken = self.speaker.concatenate(voice.said["answer"], "answer")
        timings["question_tts_s"] = round(sum(c.synth_seconds for c in voice.said["question"]), 3)
        timings["answer_tts_s"] = round(sum(c.synth_seconds for c in voice.said["answer"]), 3)
        timings["question_audio_s"] = round(sum(c.seconds for c in voice.said["question"]), 3)
        timings["answer_audio_s"] = round(spoken.seconds, 3)
        return spoken

    def _audio_events(self, voice: "_Voice", timings: dict, started: float) -> Iterator[Event]:
        """An ``audio`` event for each clip ready, in the order the texts were given."""
        for role, clip in voice.ready():
            if role == "question":
                yield Event("audio", _clip(clip, "question"))
            else:
                timings.setdefault("first_answer_audio_s", _since(started))
                yield Event("audio", {**_clip(clip, "answer_sentence"), "index": len(voice.said["answer"]) - 1})

    def _source(self, hit, number: int) -> dict:
        text = " ".join(hit.text.split())
        limit = self.params.excerpt_chars
        excerpt = text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
        # score None: a passage not retrieved, added to complete the section an answer quotes whole
        return {"number": number, "file": hit.file, "page": hit.page,
                "score": None if hit.score is None else round(float(hit.score), 4), "excerpt": excerpt}


class _Voice:
    """Texts said on the speech threads; each clip is handed back once it and every clip before it are ready."""

    def __init__(self, speaker, pool: ThreadPoolExecutor):
        self._speaker, self._pool = speaker, pool
        self._queue: deque = deque()  # (role, future of an AudioClip), in the order given
        self.said: dict[str, list] = {"question": [], "answer": []}  # clips handed back

    def say(self, text: str, role: str) -> None:
        if speakable(text):  # a sentence of marks alone ("**") has nothing to say
            self._queue.append((role, self._pool.submit(self._speaker.speak, text, role)))

    @property
    def waiting(self) -> bool:
        return bool(self._queue)

    def cancel(self) -> None:
        for _, future in self._queue:
            future.cancel()
        self._queue.clear()

    def wait(self, timeout: float) -> None:
        if self._queue:
            wait([self._queue[0][1]], timeout=timeout)

    def ready(self) -> Iterator[tuple[str, object]]:
        while self._queue and self._queue[0][1].done():
            role, future = self._queue.popleft()
            clip = future.result()  # a synthesis failure is raised here, in the turn
            self.said[role].append(clip)
            yield role, clip


class Turn:
    """The events of one accepted turn; closing it (or finishing it) frees its place in the queue."""

    def __init__(self, service: ChatService, question: str, history: list[dict],
                 departed: Callable[[], bool] | None = None, ahead: int = 0):
        self._service = service
        self.ahead = ahead  # turns accepted before this one and not ended when it was
        self.started = time.perf_counter()
        self.plan = None  # the answer's Plan (passages, evidence, quotes) once retrieval has run
        self.voice = None  # its _Voice once the turn has begun
        self.departed = departed or (lambda: False)
        self.departed_early = False  # set when the turn ended because the client went away
        self._events = service._events(question, history, self)
        self._open = True
        self._holds_place = True
        self._place_lock = threading.Lock()  # the place is given back once, by close or by a newcomer

    def elapsed(self) -> float:
        """Seconds since the turn was accepted."""
        return time.perf_counter() - self.started

    def __iter__(self) -> Iterator[Event]:
        try:
            yield from self._events
        finally:
            self.close()

    def give_back_place(self) -> None:
        """Free this turn's queue place (once); the turn itself ends at its next check of its client."""
        with self._place_lock:
            if not self._holds_place:
                return
            self._holds_place = False
        self._service._leave_queue(self)

    def close(self) -> None:
        # Idempotent; also called by the WSGI server when a client goes away mid-stream.
        if self._open:
            self._open = False
            self._events.close()
            if self.voice is not None:
                self.voice.cancel()  # clips not begun yet: nobody will hear them
            self.give_back_place()

    def __enter__(self) -> "Turn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _clip(clip, role: str) -> dict:
    # chars: how much of the text is said (a long question only up to tts.question_chars)
    return {"role": role, "id": clip.id, "seconds": round(clip.seconds, 3), "engine": clip.engine,
            "voice": clip.voice, "chars": clip.chars}


def _generation_timings(tokens: int, first: float | None, last: float | None) -> dict:
    # Decoding speed excludes the first token, whose time is prompt processing.
    decode = (last - first) if tokens > 1 else 0.0
    return {"answer_tokens": tokens, "tokens_per_s": round((tokens - 1) / decode, 2) if decode > 0 else None}


def _attempt(load: Callable, problems: list[str]):
    try:
        return load()
    except UserError as exc:
        problems.append(str(exc))
        return None
