"""The serve stage's check: ask questions to the running server over HTTP, check and measure the answers."""
from __future__ import annotations

import logging
import statistics

from web.client import get, is_wav, post, stream_chat
from dllab.errors import DataError

log = logging.getLogger("chat.serve")


def ask_and_check(base_url: str, questions: list[str]) -> list[dict]:
    """One streamed turn per question; DataError unless each has an answer, sources and WAV clips of the
    question, of the answer and of its first sentence (said while the answer streamed)."""
    turns = []
    for question in questions:
        result = stream_chat(base_url, question)
        problems = [] if result["answer"] else ["no answer"]
        problems += [] if result["sources"] else ["no sources"]
        clips = {"question": result["audio"].get("question"), "answer": result["audio"].get("answer"),
                 "first answer sentence": (result["sentence_audio"] or [None])[0]}
        for role, clip in clips.items():
            status, _, body = get(base_url, clip["url"]) if clip else (None, None, b"")
            if status != 200 or not is_wav(body):
                problems.append(f"no playable {role} audio")
        if problems:
            raise DataError(f"the server's answer to {question!r} has {', '.join(problems)}")
        log.info("%s -> %s", question, result["answer"][:120].replace("\n", " "))
        turns.append({**_turn(question, result), "question_audio_url": clips["question"]["url"],
                      "tts_engine": clips["question"]["engine"]})
    return turns


def transcribe_check(base_url: str, turn: dict) -> dict:
    """The question's clip, as the server said it, sent back to ``POST /transcribe``: what Whisper heard."""
    import json
    import time

    _, _, clip = get(base_url, turn["question_audio_url"])
    started = time.perf_counter()
    status, _, body = post(base_url, "/transcribe", clip, "audio/wav")
    if status != 200:
        raise DataError(f"POST /transcribe of the question's clip answered {status}: {body[:300]!r}")
    heard = json.loads(body)
    return {"question": turn["question"], "text": heard["text"], "audio_seconds": heard["seconds"],
            "seconds_first_use": round(time.perf_counter() - started, 3)}  # Whisper loads on this first use


def _turn(question: str, result: dict) -> dict:
    timings = result["timings"]
    return {
        "question": question,
        "answer": result["answer"],
        "sources": [{k: s[k] for k in ("file", "page", "score")} for s in result["sources"]],
        "first_token_s": result["client"]["first_token_s"],
        "latency_s": result["client"]["total_s"],
        # Model tokens exist in generate mode only (quote mode writes no token).
        "answer_tokens": timings.get("answer_tokens"),
        "prompt_tokens": timings.get("prompt_tokens"),
        "tokens_per_s": timings.get("tokens_per_s"),
        "audio_seconds": round(timings["question_audio_s"] + timings["answer_audio_s"], 3),
        "synthesis_seconds": round(timings["question_tts_s"] + timings["answer_tts_s"], 3),
    }


def summarise(turns: list[dict], startup_s: float) -> dict:
    """Means over the turns (and the worst latencies), then the turns themselves."""
    audio = sum(t["audio_seconds"] for t in turns)
    synthesis = sum(t["synthesis_seconds"] for t in turns)
    rates = [t["tokens_per_s"] for t in turns if t["tokens_per_s"]]
    generated = [t["answer_tokens"] for t in turns if t["answer_tokens"] is not None]
    return {
        "questions": len(turns),
        "tts_engine": turns[0]["tts_engine"],
        "startup_s": round(startup_s, 2),
        "first_token_s": round(statistics.mean(t["first_token_s"] for t in turns), 3),
        "first_token_s_max": max(t["first_token_s"] for t in turns),
        "latency_s": round(statistics.mean(t["latency_s"] for t in turns), 3),
        "latency_s_max": max(t["latency_s"] for t in turns),
        "tokens_per_s": round(statistics.mean(rates), 2) if rates else None,
        "answer_tokens": round(statistics.mean(generated), 1) if generated else None,
        "audio_seconds": round(audio, 3),
        "synthesis_seconds": round(synthesis, 3),
        "synthesis_real_time_factor": round(synthesis / audio, 4) if audio else None,
        "turns": turns,
    }
