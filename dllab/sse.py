"""Reading Server-Sent Events (text/event-stream): the chat server's own streams and OpenAI-compatible LLM
servers' answers are read by this one function."""
from __future__ import annotations

from typing import Iterable, Iterator


def events(lines: Iterable[str | bytes]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event in a stream's lines: the ``data:`` lines joined by newlines, the name
    ``message`` unless an ``event:`` line gives one. Comments and events without data are skipped; an event
    the stream ends without its blank line is still given."""
    name, data = "message", []
    for raw in lines:
        line = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).rstrip("\r\n")
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield name, "\n".join(data)
