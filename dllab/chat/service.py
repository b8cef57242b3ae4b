"""One chat turn: speak the question, retrieve passages, stream the model's answer, speak the answer.

The model serves one generation at a time. Requests beyond the model wait in a bounded queue
(``chat.queue_size`` places, the running one included); when it is full, ``Busy`` is raised at once
so the API answers 503 with Retry-After instead of piling up threads and memory.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from dllab.chat.answer import Answerer, without_citations
from dllab.chat.llm import ChatModel
from dllab.chat.prompt import no_answer
from dllab.errors import UserError

log = logging.getLogger("chat.service")


class Busy(Exception):
    """Every place in the queue is taken; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the chatbot is busy; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Event:
    name: str   # "audio", "token", "sources" or "done"
    data: dict


class ChatService:
    def __init__(self, model: ChatModel, retriever, speaker, params: dict):
        self.model, self.retriever, self.speaker, self.params = model, retriever, speaker, params
        self.answerer = Answerer(retriever, model, params)
        self._places = threading.BoundedSemaphore(params["queue_size"])
        self._model_lock = threading.Lock()   # llama.cpp and retrieval: one turn at a time
        self._in_flight = 0                   # accepted turns not yet closed (for /health)
        self._count_lock = threading.Lock()

    @classmethod
    def start(cls, model_path, index_dir, audio_dir, llm_params: dict, chat_params: dict,
              tts_params: dict) -> "ChatService":
        """Load the model, the index and the voices; one UserError lists everything that is missing."""
        from dllab.rag.search import Retriever
        from dllab.speech import Speaker

        problems = []
        model = _attempt(lambda: ChatModel.load(model_path, llm_params), problems)
        retriever = _attempt(lambda: Retriever.open(str(index_dir)), problems)
        speaker = _attempt(lambda: Speaker.from_params(tts_params, audio_dir), problems)
        if problems:
            raise UserError("cannot start the chatbot: " + " | ".join(problems))
        return cls(model, retriever, speaker, chat_params)

    def close(self) -> None:
        """Release the index's private copy (the model and voices need nothing)."""
        self.retriever.close()

    def health(self) -> dict:
        return {
            "model": {"file": self.model.path.name, "mb": round(self.model.path.stat().st_size / 1e6, 1),
                      "n_ctx": self.model.n_ctx, "max_tokens": self.model.max_tokens},
            "index": {"chunks": len(self.retriever)},
            "tts": {"engine": self.speaker.engine, "voices": self.speaker.voices},
            "queue": {"places": self.params["queue_size"], "in_use": self._in_flight},
            "limits": {key: self.params[key] for key in ("max_question_chars", "max_history_messages")},
        }

    def audio_path(self, clip_id: str) -> Path | None:
        return self.speaker.clip_path(clip_id)

    def open_turn(self, question: str, history: list[dict]) -> "Turn":
        """Take a place in the queue (or raise Busy) and return the turn's events, to iterate once."""
        if not self._places.acquire(blocking=False):
            raise Busy(self.params["retry_after"])
        self._count_in_flight(+1)
        return Turn(self, question, history)

    def ask(self, question: str, history: list[dict]) -> dict:
        """The whole turn at once: {answer, sources, audio: {question, answer}, timings}."""
        result = {"audio": {}}
        with self.open_turn(question, history) as turn:
            for event in turn:
                if event.name == "audio":
                    result["audio"][event.data["role"]] = event.data
                elif event.name in ("sources", "done"):
                    result.update(event.data)
        return result

    def _count_in_flight(self, change: int) -> None:
        with self._count_lock:
            self._in_flight += change

    def _leave_queue(self) -> None:
        self._count_in_flight(-1)
        self._places.release()

    def _events(self, question: str, history: list[dict], turn: "Turn") -> Iterator[Event]:
        started = turn.started
        since_start = lambda: round(time.perf_counter() - started, 3)  # noqa: E731
        asked = self.speaker.speak(question, "question")
        timings = {"question_tts_s": round(asked.synth_seconds, 3)}
        yield Event("audio", _clip(asked, "question"))

        waiting = time.perf_counter()
        with self._model_lock:
            timings["queue_wait_s"] = round(time.perf_counter() - waiting, 3)
            searching = time.perf_counter()
            hits = self.retriever.search(question, k=self.params["top_k"])
            plan = turn.plan = self.answerer.plan(question, hits, history)
            timings["retrieval_s"] = round(time.perf_counter() - searching, 3)
            pieces, first, last = [], None, None
            for piece in self.answerer.stream(question, plan):
                last = time.perf_counter()
                if first is None:
                    first = last
                    timings["first_token_s"] = since_start()
                pieces.append(piece)
                yield Event("token", {"text": piece})
        answer = "".join(pieces).strip()
        if not any(ch.isalnum() for ch in answer):
            answer = no_answer(question)
        if plan.prompt is not None:
            timings.update(_generation_timings(len(pieces), first, last, plan.prompt.tokens))
        yield Event("sources", {"sources": [self._source(hit, n) for n, hit in enumerate(plan.hits, 1)],
                                "mode": plan.mode, "declined": plan.declined, "evidence": round(plan.evidence, 4),
                                "cited": sorted({q.passage for q in plan.quotes})})

        spoken = self.speaker.speak(without_citations(answer), "answer")
        timings["answer_tts_s"] = round(spoken.synth_seconds, 3)
        timings["question_audio_s"], timings["answer_audio_s"] = round(asked.seconds, 3), round(spoken.seconds, 3)
        yield Event("audio", _clip(spoken, "answer"))
        timings["total_s"] = since_start()
        history_kept = plan.prompt.history_kept if plan.prompt is not None else 0
        yield Event("done", {"answer": answer, "history_kept": history_kept, "timings": timings})

    def _source(self, hit, number: int) -> dict:
        text = " ".join(hit.text.split())
        limit = self.params["excerpt_chars"]
        excerpt = text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
        return {"number": number, "file": hit.file, "page": hit.page, "score": round(float(hit.score), 4),
                "excerpt": excerpt}


class Turn:
    """The events of one accepted turn; closing it (or finishing it) frees its place in the queue."""

    def __init__(self, service: ChatService, question: str, history: list[dict]):
        self._service = service
        self.started = time.perf_counter()
        self.plan = None  # the answer's Plan (passages, evidence, quotes) once retrieval has run
        self._events = service._events(question, history, self)
        self._open = True

    def elapsed(self) -> float:
        """Seconds since the turn was accepted."""
        return time.perf_counter() - self.started

    def __iter__(self) -> Iterator[Event]:
        try:
            yield from self._events
        finally:
            self.close()

    def close(self) -> None:
        # Idempotent; also called by the WSGI server when a client goes away mid-stream.
        if self._open:
            self._open = False
            self._events.close()
            self._service._leave_queue()

    def __enter__(self) -> "Turn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _clip(clip, role: str) -> dict:
    return {"role": role, "id": clip.id, "seconds": round(clip.seconds, 3), "engine": clip.engine,
            "voice": clip.voice}


def _generation_timings(tokens: int, first: float | None, last: float | None, prompt_tokens: int) -> dict:
    # Decoding speed excludes the first token, whose time is prompt processing.
    decode = (last - first) if tokens > 1 else 0.0
    return {"prompt_tokens": prompt_tokens, "answer_tokens": tokens,
            "tokens_per_s": round((tokens - 1) / decode, 2) if decode > 0 else None}


def _attempt(load: Callable, problems: list[str]):
    try:
        return load()
    except UserError as exc:
        problems.append(str(exc))
        return None
