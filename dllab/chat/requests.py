"""Checking a chat request's JSON before any work: every client mistake becomes one clear 4xx message."""
from __future__ import annotations

import ipaddress
import json
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
    """The JSON value of a request body; BadRequest for anything the parser cannot take."""
    try:
        return json.loads(body)  # bytes: UTF-8, UTF-16 or UTF-32, as RFC 8259 allows
    except RecursionError:  # [[[[... nested deeper than the parser's stack
        raise BadRequest("the body is JSON nested too deeply; a chat request is at most 3 levels deep") from None
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8 text") from None
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise BadRequest(f"the body is not valid JSON ({str(exc)[:80]})") from None


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
    _check_text(value, "'question'")
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
        _check_text(message["content"], f"{where}.content")
        clean.append({"role": message["role"], "content": message["content"]})
    return clean


def _check_text(value: str, field: str) -> None:
    # JSON may carry "\ud800" escapes that decode to a lone surrogate: no UTF-8 for the model or the voice.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"{field} holds an unpaired surrogate (\\u{ord(value[exc.start]):04x}) at character "
                         f"{exc.start}; send valid Unicode text") from None


def loopback_name(host_header: str | None) -> bool:
    """Whether a Host header (``name[:port]``) names this machine: localhost, *.localhost or a loopback IP.

    A server bound to 127.0.0.1 refuses other names so that a web page cannot reach it through a DNS
    name that resolves to 127.0.0.1 (DNS rebinding).
    """
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8000
        name = host[1:host.find("]")] if "]" in host else ""
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _json_type(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
