"""The chat model behind an OpenAI-compatible server: ``llm.source: openai:http://HOST:PORT/v1``.

Any server that speaks OpenAI's chat-completions API with streaming serves: llama.cpp's ``llama-server`` or
llama-cpp-python's ``python -m llama_cpp.server``, vLLM (``vllm serve``), Ollama (``/v1``). ``llm.remote_model``
is the model name sent with each request.

The client is httpx (already locked as chromadb's dependency; today's ``openai`` package would add itself, jiter
and a second HTTP client, httpx2, for one streaming POST). Timeouts: ``llm.remote_connect_timeout`` to connect, ``llm.remote_read_timeout`` for
each read, so a server that goes silent mid-answer is noticed within that time, never waited on for ever.
A refused or timed-out connection is retried ``llm.remote_retries`` times with exponential backoff (0.5 s,
1 s, ...; httpcore's own retries). Every failure is raised as ``LLMServerDown`` with a sentence naming the
server and what went wrong: before a turn the chat service turns it into a 503, during a turn into an
``error`` event.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator
from urllib.parse import urlsplit

from dllab.chat.download import base_url
from dllab.chat.prompt import STOP
from dllab.sse import events

if TYPE_CHECKING:
    from dllab.chat.config import LlmParams

log = logging.getLogger("chat.remote")

# Estimated tokens per UTF-8 byte. No standard endpoint counts tokens (llama.cpp, vLLM and Ollama each have
# their own, or none), so the prompt budget uses an estimate meant to over-count: SmolLM2's tokenizer gives
# one token per 2.7-2.8 bytes of the French documents (data/rag, tests/chat/docs), English takes fewer tokens.
TOKENS_PER_BYTE = 1 / 2.2


class LLMServerDown(Exception):
    """The LLM server cannot answer now (down, too slow, or failed mid-answer); the message says which."""


@dataclass
class RemoteChatModel:
    """Streams answers from an OpenAI-compatible server; same interface as ``ChatModel``."""

    url: str           # base URL, ending in /v1 for most servers
    model: str         # the name sent as "model"
    n_ctx: int
    max_tokens: int
    temperature: float
    repeat_penalty: float
    seed: int
    connect_timeout: float
    read_timeout: float
    retries: int
    params_file: str = "params.yaml"  # where llm.source came from, for the messages
    path = None        # no local file
    _client: object = field(default=None, repr=False)
    _failed: tuple[float, str] | None = field(default=None, repr=False)  # (when, why) of the last timeout
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_params(cls, params: LlmParams) -> "RemoteChatModel":
        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
        model = cls(base_url(params), params.remote_model, params.n_ctx, params.max_tokens, params.temperature,
                    params.repeat_penalty, params.seed, params.remote_connect_timeout, params.remote_read_timeout,
                    params.remote_retries, params.params_file)
        timeout = httpx.Timeout(connect=model.connect_timeout, read=model.read_timeout, write=model.read_timeout,
                                pool=model.connect_timeout)
        # retries: httpcore retries failed connections (refused, timed out) with exponential backoff.
        model._client = httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(retries=model.retries))
        return model

    @property
    def name(self) -> str:
        return self.model

    def info(self) -> dict:
        return {"name": self.model, "server": self.url, "n_ctx": self.n_ctx, "max_tokens": self.max_tokens}

    def count_tokens(self, text: str) -> int:
        """An over-estimate of the server model's token count (see TOKENS_PER_BYTE)."""
        return math.ceil(len(text.encode("utf-8")) * TOKENS_PER_BYTE)

    def check_available(self) -> None:
        """Raise LLMServerDown unless the server answers HTTP now (any status: its root page need not exist).

        The root is asked rather than ``/v1/models``: llama-cpp-python's server takes its model lock for that
        route and, by default, interrupts the generation in progress to serve it.
        """
        with self._lock:
            failed = self._failed
        if failed and time.monotonic() - failed[0] < self.read_timeout:
            raise LLMServerDown(failed[1])
        import httpx

        root = "{0.scheme}://{0.netloc}/".format(urlsplit(self.url))
        try:
            self._client.get(root, timeout=self.connect_timeout)
        except httpx.HTTPError as exc:
            raise LLMServerDown(f"the LLM server {self.url} does not answer ({_reason(exc)})") from None

    def interrupt_when(self, check) -> None:
        """Nothing to interrupt here: the server reads its prompts itself, and a closed stream stops it."""

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """Yield the answer's text pieces as the server sends them."""
        import httpx

        body = {"model": self.model, "messages": messages, "stream": True, "max_tokens": self.max_tokens,
                "temperature": self.temperature, "seed": self.seed, "stop": STOP}
        if self.repeat_penalty != 1.0:
            body["repeat_penalty"] = self.repeat_penalty  # llama.cpp's name; vLLM and Ollama ignore it
        try:
            with self._client.stream("POST", f"{self.url}/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    raise self._refused(response)
                yield from _pieces(response.iter_lines(), self.url)
        except httpx.TimeoutException as exc:
            raise self._timed_out(exc) from None
        except httpx.ConnectError as exc:
            raise LLMServerDown(f"the LLM server {self.url} does not answer ({_reason(exc)})") from None
        except httpx.HTTPError as exc:
            raise LLMServerDown(f"the LLM server {self.url} failed during the answer ({_reason(exc)})") from None
        with self._lock:
            self._failed = None

    def close(self) -> None:
        self._client.close()

    def _refused(self, response) -> Exception:
        response.read()
        detail = _error_detail(response)
        message = f"the LLM server {self.url} answered {response.status_code}: {detail}"
        if response.status_code >= 500:
            return LLMServerDown(message)
        return LLMServerDown(f"{message} (check llm.remote_model = {self.model!r} and llm.n_ctx in "
                             f"{self.params_file})")

    def _timed_out(self, exc) -> LLMServerDown:
        import httpx

        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return LLMServerDown(f"the LLM server {self.url} does not answer ({_reason(exc)})")
        message = (f"the LLM server {self.url} sent nothing for {self.read_timeout:g} s "
                   "(llm.remote_read_timeout): it is overloaded or stuck")
        with self._lock:
            self._failed = (time.monotonic(), message)  # refused at once for the next read_timeout seconds
        return LLMServerDown(message)


def _pieces(lines: Iterator[str], url: str) -> Iterator[str]:
    """The ``delta.content`` of each Server-Sent Event's data, until ``data: [DONE]``. Each ``data:`` line is a
    whole JSON chunk, also from a server that leaves out the blank lines between events."""
    for data in (line.strip() for _, joined in events(lines) for line in joined.split("\n")):
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise LLMServerDown(f"the LLM server {url} sent something that is not JSON: {data[:100]!r}") from None
        if "error" in chunk:  # some servers report failures inside the stream
            raise LLMServerDown(f"the LLM server {url} failed during the answer ({_message(chunk['error'])})")
        choices = chunk.get("choices") or [{}]
        piece = (choices[0].get("delta") or {}).get("content")
        if piece:
            yield piece
    raise LLMServerDown(f"the LLM server {url} failed during the answer (the stream ended without data: [DONE])")


def _error_detail(response) -> str:
    try:
        return _message(response.json().get("error") or response.json().get("detail") or response.text)[:300]
    except ValueError:
        return response.text[:300] or response.reason_phrase


def _message(error) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


def _reason(exc) -> str:
    """A short reason: 'connection refused', 'timed out after 3 s', or the exception's name and text."""
    import httpx

    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused: is it running?"
    if isinstance(exc, httpx.TimeoutException):
        return f"{exc.__class__.__name__}: no answer in time"
    return f"{exc.__class__.__name__}: {text}"[:300]
