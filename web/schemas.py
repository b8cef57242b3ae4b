"""Checking a chat request's JSON before any work: every client mistake becomes one clear 4xx message."""
from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass

from dllab.errors import UserError
from dllab.speech.text import speakable

ROLES = ("user", "assistant")
FIELDS = ("question", "history")


class BadRequest(UserError):
    """A chat request the API refuses with HTTP 400 and this message."""


@dataclass
class ChatRequest:
    question: str
    history: list[dict]  # [{"role": "user" | "assistant", "content": str}], oldest first


def body_limit(params: dict) -> int:
    """Largest request body in bytes that can hold a valid request (JSON may escape a character as 6 bytes)."""
    chars = params["max_question_chars"] + params["max_history_messages"] * (params["max_message_chars"] + 64)
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


def parse_chat_request(payload, params: dict) -> ChatRequest:
    """Check ``payload`` (the decoded JSON body) against the ``chat`` limits; raise BadRequest naming the field."""
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object such as {"question": "...", "history": []}')
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; allowed fields: {', '.join(FIELDS)}")
    question = _question(payload.get("question"), params["max_question_chars"])
    history = _history(payload.get("history"), params["max_history_messages"], params["max_message_chars"])
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
