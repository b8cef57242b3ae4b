"""The prompt: instructions, the retrieved passages with their sources, and as much history as fits.

Token budget (all in tokens of the chat model):
    n_ctx >= system + passages + question + kept history + per-message template overhead + max_tokens
Passages are dropped from the lowest-ranked first only if the question and passages alone overflow;
history is dropped from the oldest exchange first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

# Roughly what a chat template adds around each message ("<|im_start|>user\n" ... "<|im_end|>\n"),
# rounded up so that templates wordier than ChatML (Mistral's [INST]) still fit.
MESSAGE_OVERHEAD = 8
SAFETY_MARGIN = 16
# Small models sometimes go on to invent the next turn in the prompt's own format: stop there.
STOP = ["\nQuestion:", "\nPassages:"]

# Short, plain instructions: small models (SmolLM2-135M) follow them far better than long ones, and
# asking them to cite passage numbers made them talk about the numbers instead of the answer.
SYSTEM = (
    "You are a helpful assistant. Answer the question using only the passages from the user's documents. "
    "Answer in {language}, in two or three short sentences. If the passages do not contain the answer, "
    "say: \"{not_found}\""
)
NOT_FOUND = {"French": "Les documents ne contiennent pas cette information.",
             "English": "The documents do not contain this information."}
NO_ANSWER = {"French": "Le modèle n'a pas donné de réponse.", "English": "The model gave no answer."}

_FRENCH_WORDS = {"le", "la", "les", "des", "du", "une", "un", "est", "sont", "quel", "quelle", "quels",
                 "quelles", "comment", "pourquoi", "que", "qu", "aux", "au", "et", "pour", "avec", "faire",
                 "combien", "où", "d", "l", "c", "dans"}
_ENGLISH_WORDS = {"the", "what", "how", "why", "is", "are", "of", "and", "a", "an", "which", "do", "does",
                  "to", "in", "with", "for", "make", "where", "when"}


@dataclass
class Prompt:
    messages: list[dict]       # ready for create_chat_completion
    hits: list                 # the passages actually in the prompt, in rank order (shown as sources)
    history_kept: int          # history messages that fit
    tokens: int                # estimated prompt tokens, template overhead included


def question_language(question: str) -> str:
    """'French' or 'English' from common words and accents; the model is told to answer in it."""
    words = re.findall(r"[\w']+", question.lower().replace("'", " "))
    french = sum(w in _FRENCH_WORDS for w in words) + 2 * bool(re.search(r"[éèêàâçùûôîœ]", question.lower()))
    english = sum(w in _ENGLISH_WORDS for w in words)
    return "French" if french > english else "English" if english > french else "the language of the question"


def no_answer(question: str) -> str:
    """What is shown and said when the model's answer has no word in it (it stopped at once)."""
    return NO_ANSWER.get(question_language(question), NO_ANSWER["English"])


def format_passages(hits: Sequence) -> str:
    """Numbered passages, each headed by its file and page, e.g. ``[1] (recette.pdf, page 2)``."""
    blocks = []
    for number, hit in enumerate(hits, 1):
        where = hit.file if hit.page is None else f"{hit.file}, page {hit.page}"
        blocks.append(f"[{number}] ({where})\n{hit.text.strip()}")
    return "\n\n".join(blocks)


def user_message(question: str, hits: Sequence) -> str:
    passages = format_passages(hits) if hits else "(no passage was found)"
    return f"Passages:\n{passages}\n\nQuestion: {question.strip()}"


def build_prompt(question: str, hits: Sequence, history: Sequence[dict], count_tokens: Callable[[str], int],
                 n_ctx: int, max_tokens: int) -> Prompt:
    """Messages for one turn that always fit ``n_ctx`` with room for ``max_tokens`` of answer."""
    language = question_language(question)
    system = SYSTEM.format(language=language, not_found=NOT_FOUND.get(language, NOT_FOUND["English"]))
    budget = n_ctx - max_tokens - SAFETY_MARGIN - 2 * MESSAGE_OVERHEAD - count_tokens(system)
    hits = list(hits)
    user = user_message(question, hits)
    while count_tokens(user) > budget and hits:
        hits.pop()  # the lowest-ranked passage goes first
        user = user_message(question, hits)
    budget -= count_tokens(user)
    if budget < 0:
        from dllab.errors import UserError

        raise UserError(f"the question is too long for the model's context window of {n_ctx} tokens")
    kept = _recent_history(history, count_tokens, budget)
    messages = [{"role": "system", "content": system}, *kept, {"role": "user", "content": user}]
    tokens = sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)
    return Prompt(messages, hits, len(kept), tokens)


def _recent_history(history: Sequence[dict], count_tokens: Callable[[str], int], budget: int) -> list[dict]:
    """The newest whole messages that fit ``budget``, starting with a user message."""
    kept: list[dict] = []
    for message in reversed(history):
        cost = count_tokens(message["content"]) + MESSAGE_OVERHEAD
        if cost > budget:
            break
        budget -= cost
        kept.insert(0, {"role": message["role"], "content": message["content"]})
    while kept and kept[0]["role"] != "user":
        kept.pop(0)  # a conversation the template accepts starts with the user
    return kept
