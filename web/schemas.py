"""Every route's request checked before any work: each client mistake becomes one ``BadRequest`` (HTTP 400)
whose message names the field and what it may hold. The library takes the checked values (``ChatRequest``,
``dllab.text.race.RaceRequest``, ...) and knows nothing of HTTP."""
from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dllab.errors import UserError
from dllab.mnist.predict import PIXELS, SIDE
from dllab.rag.explain import MAX_K, MAX_QUERY_CHARS
from dllab.speech.text import speakable
from dllab.text.explain import InspectRequest
from dllab.text.generate import check_sampling
from dllab.text.race import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_SEED, MODELS, RaceRequest

if TYPE_CHECKING:
    from dllab.chat.config import ChatParams

ROLES = ("user", "assistant")
FIELDS = ("question", "history")
RACE_DEFAULTS = {"prompt": "", "max_new_tokens": 100, "temperature": 0.8, "top_k": 50, "seed": 0,
                 "models": list(MODELS)}
INSPECT_FIELDS = ("prompt", "continuation", "models")


class BadRequest(UserError):
    """A request any route refuses with HTTP 400 and this message."""


@dataclass
class ChatRequest:
    question: str
    history: list[dict]  # [{"role": "user" | "assistant", "content": str}], oldest first


def body_limit(params: ChatParams) -> int:
    """Largest request body in bytes that can hold a valid request (JSON may escape a character as 6 bytes)."""
    chars = params.max_question_chars + params.max_history_messages * (params.max_message_chars + 64)
    return 6 * chars + 4096


def decode_json(body: bytes):
    """The JSON value of a request body; BadRequest for anything the parser cannot take, a number that is not
    finite (NaN, Infinity, 1e999) or a string that is not Unicode text (a lone surrogate such as "\\ud800")."""
    try:
        value = json.loads(body, parse_constant=_not_a_number, parse_float=_finite)  # bytes: UTF-8, -16 or -32
    except RecursionError:  # [[[[... nested deeper than the parser's stack
        raise BadRequest("the body is JSON nested too deeply; a request is at most a few levels deep") from None
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8 text") from None
    except ValueError as exc:  # JSONDecodeError, an integer too long to convert, a number out of range
        raise BadRequest(f"the body is not valid JSON ({str(exc)[:80]})") from None
    _check_strings(value)
    return value


def _not_a_number(word: str):
    raise ValueError(f"{word} is not a number JSON allows")


def _finite(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise ValueError(f"{digits[:20]} is too large for a number")
    return value


def _check_strings(value) -> None:
    """BadRequest naming the first string (key or value) that holds an unpaired surrogate: JSON may carry
    "\\ud800" escapes that decode to one, and no model, voice or index takes them (they have no UTF-8)."""
    pending = deque([(value, "")])  # (value, its path: "" for the body, "question", "history[0].content"...)
    while pending:  # a loop, not recursion: the body may be nested as deeply as the parser allows
        item, path = pending.popleft()
        if isinstance(item, str):
            _check_unicode(item, _field(path))
        elif isinstance(item, list):
            pending.extend((element, f"{path}[{i}]") for i, element in enumerate(item))
        elif isinstance(item, dict):
            for key, element in item.items():
                _check_unicode(key, f"a field name in {_field(path)}")
                pending.append((element, f"{path}.{key}" if path else key))


def _check_unicode(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"{field} holds an unpaired surrogate (\\u{ord(text[exc.start]):04x}) at character "
                         f"{exc.start}; send valid Unicode text") from None


def _field(path: str) -> str:
    """How messages name a field: 'question' (a top-level field), history[0].content, or the body itself."""
    if not path:
        return "the body"
    return path if "[" in path or "." in path else f"'{path}'"


def parse_chat_request(payload, params: ChatParams) -> ChatRequest:
    """Check ``payload`` (the decoded JSON body) against the ``chat`` limits; raise BadRequest naming the field."""
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object such as {"question": "...", "history": []}')
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; allowed fields: {', '.join(FIELDS)}")
    question = _question(payload.get("question"), params.max_question_chars)
    history = _history(payload.get("history"), params.max_history_messages, params.max_message_chars)
    return ChatRequest(question, history)


def _question(value, limit: int) -> str:
    if value is None:
        raise BadRequest("the field 'question' is missing")
    if not isinstance(value, str):
        raise BadRequest(f"'question' must be a string, not {_json_type(value)}")
    if not value.strip():
        raise BadRequest("'question' is empty")
    if len(value) > limit:
        raise BadRequest(f"'question' is {len(value)} characters long; the limit is {limit}")
    if not speakable(value):  # only marks, symbols or invisible characters: nothing to search or to say
        raise BadRequest("'question' has no letter or digit; ask a question in words")
    return value.strip()


def _history(value, max_messages: int, max_chars: int) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"'history' must be a list of messages, not {_json_type(value)}")
    if len(value) > max_messages:
        raise BadRequest(f"'history' has {len(value)} messages; the limit is {max_messages}")
    clean = []
    for i, message in enumerate(value):
        where = f"history[{i}]"
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise BadRequest(f'{where} must be an object {{"role": "user" or "assistant", "content": "..."}}')
        if message["role"] not in ROLES:
            raise BadRequest(f"{where}.role must be 'user' or 'assistant', not {message['role']!r:.40}")
        if not isinstance(message["content"], str):
            raise BadRequest(f"{where}.content must be a string, not {_json_type(message['content'])}")
        if len(message["content"]) > max_chars:
            raise BadRequest(f"{where}.content is {len(message['content'])} characters long; the limit is {max_chars}")
        clean.append({"role": message["role"], "content": message["content"]})
    return clean


def _json_type(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


# -- the lab's other routes: the same checks, the same error --------------------------------------------------

def parse_race_request(body) -> RaceRequest:
    """``POST /lm/generate``: a JSON object with any of ``RACE_DEFAULTS``' keys → RaceRequest; BadRequest naming the
    field otherwise."""
    if not isinstance(body, dict):
        raise BadRequest(f"send a JSON object such as {{\"prompt\": \"ROMEO:\", \"max_new_tokens\": 60}}; "
                         f"got {type(body).__name__}")
    _known_fields(body, RACE_DEFAULTS)
    values = {**RACE_DEFAULTS, **body}
    prompt = _prompt(values["prompt"])
    temperature = _number("temperature", values["temperature"])
    top_k, length, seed = (_integer(key, values[key]) for key in ("top_k", "max_new_tokens", "seed"))
    try:
        check_sampling(temperature, top_k, length)  # the command's own rules and messages
    except UserError as error:
        raise BadRequest(str(error)) from None
    if length > MAX_NEW_TOKENS:
        raise BadRequest(f"max_new_tokens = {length} is not allowed here; use at most {MAX_NEW_TOKENS}")
    if not 0 <= seed <= MAX_SEED:
        raise BadRequest(f"seed = {seed} is not allowed; use an integer from 0 to {MAX_SEED}")
    return RaceRequest(prompt, length, temperature, top_k, seed, _model_names(values["models"]))


def parse_inspect_request(body) -> InspectRequest:
    """``POST /lm/inspect``: ``{"prompt": str, "continuation": [ids], "models": [names]}`` (only ``prompt``
    required) → InspectRequest; BadRequest naming the field otherwise. Ids are checked against the vocabulary
    by ``dllab.text.explain.inspect``."""
    if not isinstance(body, dict):
        raise BadRequest(f'send a JSON object such as {{"prompt": "ROMEO:"}}; got {type(body).__name__}')
    _known_fields(body, INSPECT_FIELDS)
    if "prompt" not in body:
        raise BadRequest('the field "prompt" is missing (it may be empty: "")')
    prompt = _prompt(body["prompt"])
    continuation = body.get("continuation", [])
    if not isinstance(continuation, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                     for i in continuation):
        raise BadRequest("continuation must be a list of token ids (integers >= 0), e.g. [17, 204]")
    if len(continuation) > MAX_NEW_TOKENS:
        raise BadRequest(f"continuation has {len(continuation)} tokens; the limit is {MAX_NEW_TOKENS}")
    return InspectRequest(prompt, list(continuation), _model_names(body.get("models", list(MODELS))))


def parse_search_args(args) -> tuple[str, int]:
    """``GET /search``: ``q`` and ``k`` of a query string (a mapping of str → str) → (question, k)."""
    unknown = sorted(set(args) - {"q", "k"})
    if unknown:
        raise BadRequest(f"unknown parameter(s) {', '.join(map(repr, unknown))}; use q (the question) and k")
    question = args.get("q", "")
    if not question.strip():
        raise BadRequest("q is empty; give the question to search for, e.g. /search?q=tarte+Tatin&k=4")
    if len(question) > MAX_QUERY_CHARS:
        raise BadRequest(f"q has {len(question)} characters; the limit is {MAX_QUERY_CHARS}")
    raw_k = args.get("k", "4")
    # Length first: int() refuses strings of more than 4,300 digits with a ValueError of its own.
    if not (raw_k.isascii() and raw_k.isdigit() and len(raw_k) <= 3) or not 1 <= int(raw_k) <= MAX_K:
        raise BadRequest(f"k = {raw_k[:20]!r} is not allowed; use an integer from 1 to {MAX_K}")
    return question, int(raw_k)


def pixels_from_json(body) -> np.ndarray:
    """``POST /mnist/predict`` as JSON: ``{"pixels": [784 numbers in 0..1]}`` → (28, 28)."""
    if not isinstance(body, dict) or set(body) != {"pixels"}:
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise BadRequest(f'send {{"pixels": [784 numbers in 0..1, ink high, row by row]}}; got {keys}')
    pixels = body["pixels"]
    if not isinstance(pixels, list) or len(pixels) != PIXELS:
        size = len(pixels) if isinstance(pixels, list) else type(pixels).__name__
        raise BadRequest(f"pixels must be a list of {PIXELS} numbers (28 rows of 28), got {size}")
    for i, value in enumerate(pixels):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise BadRequest(f"pixels[{i}] = {str(value)[:20]!r} is not allowed; each pixel is a number "
                             "from 0 (background) to 1 (ink)")
    return np.asarray(pixels, dtype=np.float32).reshape(SIDE, SIDE)


def _known_fields(body: dict, allowed) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")


def _prompt(value) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"prompt must be text, got {type(value).__name__}")
    if len(value) > MAX_PROMPT_CHARS:
        raise BadRequest(f"prompt has {len(value)} characters; the limit is {MAX_PROMPT_CHARS}")
    return value


def _model_names(models) -> list[str]:
    if (not isinstance(models, list) or not models or not all(isinstance(name, str) for name in models)
            or not set(models) <= set(MODELS) or len(set(models)) < len(models)):
        raise BadRequest(f"models must be a non-empty list of distinct names among {', '.join(MODELS)}")
    return models


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{key} must be a number, got {str(value)[:20]!r}")
    return float(value)


def _integer(key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer, got {str(value)[:20]!r}")
    return value
