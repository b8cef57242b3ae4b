"""Loading the GGUF chat model once per process and streaming its answers.

llama-cpp-python applies the chat template stored in the GGUF (``tokenizer.chat_template``), so the same
code serves SmolLM2 (ChatML) and, for online users, Mistral-Instruct or any other instruct GGUF.
``load_model`` gives this in-process model, or ``dllab.chat.remote.RemoteChatModel`` when ``llm.source`` is
``openai:URL`` (a model served by another process or machine); both have the same interface.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from dllab.chat.download import REMOTE_MARKER, check_gguf, is_remote
from dllab.chat.prompt import STOP
from dllab.errors import UserError

if TYPE_CHECKING:
    from dllab.chat.config import LlmParams

log = logging.getLogger("chat.llm")

MISSING_MODEL = "run `dvc repro llm_download` (or `python stages/llm_download.py`) to fetch it"


class Interrupted(Exception):
    """llama.cpp abandoned the prompt it was reading because the ``interrupt_when`` check said so."""


def load_model(path: str | Path, params: LlmParams):
    """The chat model ``params`` (the ``llm`` section) name: a remote server's, or the GGUF at ``path``."""
    from dllab.chat.remote import RemoteChatModel

    if is_remote(params.source):
        return RemoteChatModel.from_params(params)
    return ChatModel.load(path, params)


class GenerationThread:
    """Runs every generation on one long-lived thread and hands the pieces to the caller.

    llama.cpp's OpenMP threads serve one calling thread well; when each server request calls it from a
    different thread, generation on 2 cores measured about 40 % slower (70 against 120 tokens/s).
    """

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._work, name="llama-generation", daemon=True).start()

    def _work(self) -> None:
        while True:
            make_iterator, out, stop = self._jobs.get()
            items = None
            try:
                items = make_iterator()
                for item in items:
                    if stop.is_set():  # the caller went away (a client left mid-stream)
                        break
                    out.put(("item", item))
                out.put(("end", None))
            except BaseException as exc:  # handed to the caller, raised there
                out.put(("error", exc))
            finally:
                if items is not None and hasattr(items, "close"):
                    items.close()

    def iterate(self, make_iterator: Callable[[], Iterator]) -> Iterator:
        out, stop = queue.Queue(), threading.Event()
        self._jobs.put((make_iterator, out, stop))
        try:
            while True:
                kind, value = out.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            stop.set()


@dataclass
class ChatModel:
    """A loaded llama.cpp model with its generation settings (the ``llm`` params)."""

    llama: object  # llama_cpp.Llama; not thread-safe: callers serialise generations
    path: Path
    n_ctx: int
    max_tokens: int
    temperature: float
    repeat_penalty: float
    generator: GenerationThread = field(default_factory=GenerationThread, repr=False)
    _abort: "PromptAbort" = field(init=False, repr=False)

    def __post_init__(self):
        self._abort = PromptAbort(self.llama)

    @classmethod
    def load(cls, path: str | Path, params: LlmParams) -> "ChatModel":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"the chat model {path} is missing; {MISSING_MODEL}")
        with open(path, "rb") as f:
            if f.read(len(REMOTE_MARKER)) == REMOTE_MARKER:
                raise UserError(f"{path} was written for a remote llm.source, which {params.params_file} no "
                                f"longer names; {MISSING_MODEL}")
        check_gguf(path)
        from llama_cpp import Llama

        log.info("loading %s (n_ctx %d, %d threads)", path, params.n_ctx, params.threads)
        llama = Llama(model_path=str(path), n_ctx=params.n_ctx, n_threads=params.threads,
                      n_threads_batch=params.threads_batch, seed=params.seed, verbose=False)
        return cls(llama, path, params.n_ctx, params.max_tokens, params.temperature, params.repeat_penalty)

    @property
    def name(self) -> str:
        """The name the GGUF gives itself (``general.name``), else its file name."""
        metadata = getattr(self.llama, "metadata", None) or {}
        return str(metadata.get("general.name") or self.path.name)

    def info(self) -> dict:
        return {"name": self.name, "file": self.path.name, "mb": round(self.path.stat().st_size / 1e6, 1),
                "n_ctx": self.n_ctx, "max_tokens": self.max_tokens}

    def check_available(self) -> None:
        """In-process: always ready (a remote model checks its server here)."""

    def close(self) -> None:
        """Nothing to release before exit (a remote model closes its connections)."""

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def interrupt_when(self, check: Callable[[], bool] | None) -> None:
        """Until reset with None: the next ``stream`` stops reading its prompt as soon as ``check()`` is true
        (llama.cpp asks between its computation steps), and raises Interrupted.

        Only the prompt: it is the long part (seconds, tens of seconds on busy cores, during which no token
        comes that a caller could stop at), and asking Python at each step of every token slowed decoding.
        """
        self._abort.check = check

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """Yield the answer's text pieces (about one token each) as llama.cpp generates them."""
        self._abort.asking(self._abort.check is not None)
        chunks = self.generator.iterate(lambda: self.llama.create_chat_completion(
            messages, stream=True, max_tokens=self.max_tokens, temperature=self.temperature,
            repeat_penalty=self.repeat_penalty, stop=STOP))
        try:
            for chunk in chunks:
                self._abort.asking(False)  # the prompt is read
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except RuntimeError:  # "llama_decode returned 2": aborted
            self._abort.raise_if_interrupted()
            raise
        finally:
            self._abort.asking(False)


@dataclass
class PromptAbort:
    """llama.cpp's abort callback on one model's context: while ``asking``, llama.cpp calls ``check`` between
    its computation steps and abandons the decode when it is true (``llama_decode`` returns 2, which
    llama-cpp-python raises as a RuntimeError; ``raise_if_interrupted`` turns it into Interrupted)."""

    llama: object
    check: Callable[[], bool] | None = None
    _callback: object = field(default=None, repr=False)  # one for the model's life: see asking
    _on: bool = False

    def asking(self, on: bool) -> None:
        """Let llama.cpp ask ``check`` (on) or not (off). A decode in progress may still call the callback it
        started with, so it is never freed."""
        import llama_cpp

        if on == self._on:
            return
        if self._callback is None:
            self._callback = llama_cpp.ggml_abort_callback(lambda _: self.check is not None and bool(self.check()))
        llama_cpp.llama_set_abort_callback(self.llama.ctx, self._callback if on
                                           else llama_cpp.ggml_abort_callback(0), None)
        self._on = on

    def raise_if_interrupted(self) -> None:
        if self.check is not None and self.check():
            raise Interrupted() from None
