"""Loading the GGUF chat model once per process and streaming its answers.

llama-cpp-python applies the chat template stored in the GGUF (``tokenizer.chat_template``), so the same
code serves SmolLM2 (ChatML) and, for online users, Mistral-Instruct or any other instruct GGUF.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from dllab.chat.download import check_gguf
from dllab.errors import UserError

log = logging.getLogger("chat.llm")

# Small models sometimes go on to invent the next turn in the prompt's own format: stop there.
STOP = ["\nQuestion:", "\nPassages:"]
MISSING_MODEL = "run `dvc repro llm_download` (or `python stages/llm_download.py`) to fetch it"


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

    @classmethod
    def load(cls, path: str | Path, params: dict) -> "ChatModel":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"the chat model {path} is missing; {MISSING_MODEL}")
        check_gguf(path)
        from llama_cpp import Llama

        log.info("loading %s (n_ctx %d, %d threads)", path, params["n_ctx"], params["threads"])
        llama = Llama(model_path=str(path), n_ctx=params["n_ctx"], n_threads=params["threads"],
                      n_threads_batch=params["threads_batch"], seed=params["seed"], verbose=False)
        return cls(llama, path, params["n_ctx"], params["max_tokens"], params["temperature"],
                   params["repeat_penalty"])

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """Yield the answer's text pieces (about one token each) as llama.cpp generates them."""
        chunks = self.generator.iterate(lambda: self.llama.create_chat_completion(
            messages, stream=True, max_tokens=self.max_tokens, temperature=self.temperature,
            repeat_penalty=self.repeat_penalty, stop=STOP))
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece
