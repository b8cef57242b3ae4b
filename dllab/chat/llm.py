"""Loading the GGUF chat model once per process and streaming its answers.

llama-cpp-python applies the chat template stored in the GGUF (``tokenizer.chat_template``), so the same
code serves SmolLM2 (ChatML) and, for online users, Mistral-Instruct or any other instruct GGUF.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from dllab.chat.download import check_gguf
from dllab.errors import UserError

log = logging.getLogger("chat.llm")

# Small models sometimes go on to invent the next turn in the prompt's own format: stop there.
STOP = ["\nQuestion:", "\nPassages:"]
MISSING_MODEL = "run `dvc repro llm_download` (or `python stages/llm_download.py`) to fetch it"


@dataclass
class ChatModel:
    """A loaded llama.cpp model with its generation settings (the ``llm`` params)."""

    llama: object  # llama_cpp.Llama; not thread-safe: callers serialise generations
    path: Path
    n_ctx: int
    max_tokens: int
    temperature: float
    repeat_penalty: float

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
        chunks = self.llama.create_chat_completion(
            messages, stream=True, max_tokens=self.max_tokens, temperature=self.temperature,
            repeat_penalty=self.repeat_penalty, stop=STOP)
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece
