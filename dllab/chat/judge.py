"""A yes/no judge: does the answer about to be given answer the question? Asked of an instruct GGUF (by default
the registry's Qwen2.5-Coder-1.5B-Instruct, ``judge.source``) only when the evidence is ambiguous.

The E5 cosine of the best sentence (``chat.decline_below``) tells a question about the documents from one about
geography, but not « Comment faire des crêpes sans lait ? » from « Comment faire une pâte sans gluten ? »: both
share most of their words with some passage. Reading the chosen sentences and the question, a 1.5B model can.
It is not asked to write anything: one prompt pass, and the probabilities of its first token being « oui » or
« non » (yes/no in English). ``p_yes`` is P(oui) / (P(oui) + P(non)), in 0..1; the answerer declines under
``chat.judge_below``, calibrated by ``chat_evaluate`` like ``decline_below``.

One prompt pass of ~200 tokens costs seconds on 2 cores, so clear questions (evidence at or above
``chat.judge_above``) are never judged.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dllab.chat.download import check_gguf
from dllab.chat.llm import PromptAbort
from dllab.errors import UserError

log = logging.getLogger("chat.judge")

SYSTEM = "Tu vérifies si un texte répond à une question. Réponds par oui ou par non."
ASK = "Texte : « {text} »\n\nQuestion : {question}\n\nCe texte répond-il à la question ? Réponds par oui ou par non."
YES = ("oui", "Oui", "OUI", "yes", "Yes")
NO = ("non", "Non", "NON", "no", "No")
TEXT_CHARS = 360       # the answer's first characters are read: enough to see what it is about, and each
                       # ~40 more tokens cost the first word ~0.6 s on 2 cores
QUESTION_CHARS = 300
N_CTX = 1024           # the prompt is at most ~350 tokens with the two limits above
MISSING = "run `dvc repro judge_download` (or `python stages/llm_download.py --section judge`) to fetch it"


class Judge:
    """A loaded instruct GGUF asked one yes/no question at a time (not thread-safe: callers serialise)."""

    def __init__(self, llama, path: Path):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llama, self.path = llama, Path(path)
        self._abort = PromptAbort(llama)
        template = (llama.metadata or {}).get("tokenizer.chat_template")
        if not template:
            raise UserError(f"{path}: this GGUF has no chat template (tokenizer.chat_template); the judge needs an "
                            "instruct model, such as judge.source's default")
        model = llama._model  # the token texts the template needs; llama-cpp-python's own formatter reads them so
        self._format = Jinja2ChatFormatter(template, eos_token=model.token_get_text(llama.token_eos()),
                                           bos_token=model.token_get_text(llama.token_bos()))
        self._yes, self._no = self._first_tokens(YES), self._first_tokens(NO)
        if self._yes & self._no:
            raise UserError(f"{path}: its tokenizer starts 'oui' and 'non' with the same token; choose another judge")
        # The instructions' tokens: what two different questions' prompts share, less one token in case the
        # tokenizer joins the last shared one with what follows.
        first, second = (self._tokens(self._prompt(q, t)) for q, t in (("a ?", "b."), ("Quoi ?", "Rien.")))
        self._prefix = first[:max(0, _common_prefix(first, second) - 1)]

    @classmethod
    def load(cls, path: str | Path, threads: int) -> "Judge":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"the judge model {path} is missing; {MISSING}")
        check_gguf(path)
        from llama_cpp import Llama

        log.info("loading the judge %s (%d threads)", path, threads)
        llama = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, seed=0,
                      verbose=False)
        return cls(llama, path)

    @property
    def name(self) -> str:
        metadata = getattr(self.llama, "metadata", None) or {}
        return str(metadata.get("general.name") or self.path.name)

    def info(self) -> dict:
        return {"name": self.name, "file": self.path.name, "mb": round(self.path.stat().st_size / 1e6, 1)}

    def interrupt_when(self, check) -> None:
        """Until reset with None: ``p_yes`` stops reading as soon as ``check()`` is true (a client that left
        while its question was judged) and raises Interrupted; the instructions it keeps stay valid."""
        self._abort.check = check

    def p_yes(self, question: str, text: str) -> float:
        """P(yes) / (P(yes) + P(no)) for the model's first word on « does ``text`` answer ``question``? »."""
        prompt = self._prompt(question, text)
        tokens = self._tokens(prompt)
        # Every prompt starts with the same instructions: read once, kept in the model's cache, and each question
        # read from exactly there (always the same split, so the same question gets the same logits whatever
        # was judged before it; eval drops what the cache holds beyond).
        fixed = len(self._prefix) if tokens[:len(self._prefix)] == self._prefix else 0
        if fixed == 0 or self.llama.input_ids[:fixed].tolist() != self._prefix or self.llama.n_tokens < fixed:
            self.llama.reset()
            if fixed:
                self.llama.eval(self._prefix)
        self.llama.n_tokens = fixed
        self._abort.asking(self._abort.check is not None)
        try:
            self.llama.eval(tokens[fixed:])
        except RuntimeError:  # "llama_decode returned 2": aborted; the next question is read from `fixed` again
            self.llama.n_tokens = fixed
            self._abort.raise_if_interrupted()
            raise
        finally:
            self._abort.asking(False)
        # The last position's logits: llama-cpp-python keeps them in its context, not in `scores`, unless every
        # position's are asked for (logits_all), which would cost memory for each of the prompt's tokens.
        logits = np.ctypeslib.as_array(self.llama._ctx.get_logits(), shape=(self.llama.n_vocab(),))
        top = float(logits.max())
        yes = float(np.exp(logits[sorted(self._yes)] - top).sum())
        no = float(np.exp(logits[sorted(self._no)] - top).sum())
        return yes / (yes + no) if yes + no > 0 else 0.5

    def _prompt(self, question: str, text: str) -> str:
        return self._format(messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": ASK.format(text=_clip(text, TEXT_CHARS),
                                                   question=_clip(question, QUESTION_CHARS))},
        ]).prompt

    def _tokens(self, prompt: str) -> list[int]:
        return self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def close(self) -> None:
        """Nothing to release before exit."""

    def _first_tokens(self, words: tuple[str, ...]) -> set[int]:
        return {self.llama.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0] for word in words}


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
