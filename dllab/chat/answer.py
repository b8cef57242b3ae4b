"""How the chatbot answers from the retrieved passages: quoted (grounded) or generated, or declined.

``chat.answer_mode``:
- ``quote`` (the offline default): the answer is the passages' own sentences that best answer the question
  (ranked at sentence level by ``dllab.rag.sentences``), each with the sentence that follows it in its
  passage (see ``choose_quotes``), each followed by the number of its passage, e.g.
  « Préchauffez le four à 190 °C. [2] ». Nothing is written that is not in a document. The registry's only
  instruct model (SmolLM2-135M) wrote clumsy, often wrong French; quoting is what its users can trust.
- ``generate``: the LLM writes the answer from the passages (``dllab.chat.prompt``); for capable models
  (a 7B instruct GGUF online, or a GPU).
Both modes decline the same way: when the best sentence of the passages scores below ``chat.decline_below``
(calibrated on the question set by ``chat_evaluate``), the answer is the fixed "not in the documents"
sentence in the question's language, and the closest passages are still listed as sources.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from dllab.chat.prompt import NOT_FOUND, build_prompt, question_language
from dllab.rag.sentences import Quote, rank_quotes

MODES = ("quote", "generate")
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def not_found(question: str) -> str:
    """The fixed sentence that declines, in the question's language."""
    return NOT_FOUND.get(question_language(question), NOT_FOUND["French"])


def without_citations(text: str) -> str:
    """The answer as it is spoken: passage numbers such as ``[2]`` removed."""
    return _CITATION.sub("", text).strip()


@dataclass
class Plan:
    """What one turn will answer: the passages, the evidence, and (in quote mode) the chosen sentences."""

    mode: str
    hits: list
    evidence: float                  # the best sentence's score: below decline_below, the question is declined
    declined: bool
    quotes: list[Quote] = field(default_factory=list)   # quote mode: the answer's sentences, in answer order
    prompt: object = None            # generate mode: the Prompt given to the model


class Answerer:
    """Chooses, for one question and its retrieved passages, the sentences to quote or the prompt to generate."""

    def __init__(self, retriever, model, params: dict):
        self.retriever, self.model, self.params = retriever, model, params

    def plan(self, question: str, hits: Sequence, history: Sequence[dict]) -> Plan:
        hits = list(hits)
        ranked = rank_quotes(self.retriever, question, hits) if hits else []
        evidence = ranked[0].score if ranked else 0.0
        mode = self.params["answer_mode"]
        if evidence < self.params["decline_below"]:
            return Plan(mode, hits, evidence, declined=True)
        if mode == "quote":
            return Plan(mode, hits, evidence, False, quotes=choose_quotes(ranked, self.params))
        prompt = build_prompt(question, hits, history, self.model.count_tokens, self.model.n_ctx,
                              self.model.max_tokens)
        return Plan(mode, prompt.hits, evidence, False, prompt=prompt)

    def stream(self, question: str, plan: Plan) -> Iterator[str]:
        """The answer's text, piece by piece: quoted sentences one at a time, or the model's tokens."""
        if plan.declined:
            yield not_found(question)
        elif plan.mode == "quote":
            for n, quote in enumerate(plan.quotes):
                yield ("" if n == 0 else " ") + f"{quote.text} [{quote.passage}]"
        else:
            yield from self.model.stream(plan.prompt.messages)


def choose_quotes(ranked: Sequence[Quote], params: dict) -> list[Quote]:
    """The best sentences, each followed by the sentence after it in its passage, up to ``answer_sentences``
    within ``answer_chars`` characters (the best always), put back in reading order: passage by passage in
    the order their best sentence ranked, each passage's sentences in document order.

    The sentence closest to a question often restates it (« La deuxième erreur est une pâte qui se rétracte
    dans le moule. ») and the next one answers it (« Elle a été trop travaillée… »). Quoting each best
    sentence with its follower raised correct from 0.81 to 0.86 on the question set, and on two sets written by
    other authors without seeing the answers from 0.69 to 0.81 and from 0.73 to 0.77 (the second one untouched
    by any choice), with answers no longer (about 350 characters).
    """
    following = {(quote.passage, quote.position): quote for quote in ranked}
    candidates = (quote for best in ranked
                  for quote in (best, following.get((best.passage, best.position + 1))) if quote is not None)
    chosen: dict[tuple[int, int], Quote] = {}
    length = 0
    for quote in candidates:
        if len(chosen) >= params["answer_sentences"]:
            break
        key = (quote.passage, quote.position)
        if key not in chosen and (not chosen or length + len(quote.text) <= params["answer_chars"]):
            chosen[key] = quote
            length += len(quote.text) + 5  # " [n] "
    passage_order: dict[int, int] = {}
    for quote in chosen.values():
        passage_order.setdefault(quote.passage, len(passage_order))
    return sorted(chosen.values(), key=lambda q: (passage_order[q.passage], q.position))
