"""What every section's routes share: JSON errors, Server-Sent Events, the JSON body of a request."""
from __future__ import annotations

import json
import logging
from typing import Iterable, Iterator

from flask import Response, jsonify, request

from web.schemas import BadRequest, decode_json

log = logging.getLogger("web")

SECURITY_HEADERS = {
    # Scripts, styles, audio and fetches only from this server: no inline script can run even if
    # text from a question or a document were ever put into the page as markup.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # The microphone for this page's own speech input (POST /transcribe); nothing for frames or other sites.
    "Permissions-Policy": "camera=(), microphone=(self), geolocation=()",
}


def json_error(status: int, message: str, headers: dict | None = None, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def json_body():
    """The request's JSON value; BadRequest (400) when it is not sent as JSON or does not parse."""
    if not request.is_json:
        raise BadRequest("send the request as JSON with the header Content-Type: application/json")
    return decode_json(request.get_data(cache=False))


def event_stream(events: Iterable[tuple[str, dict]], on_close=None,
                 failure: str = "the stream could not be completed") -> Response:
    """A text/event-stream response of ``(name, data)`` events; a failure after the status line is
    sent as an ``error`` event (logged, without details)."""
    response = Response(_encoded(events, failure), mimetype="text/event-stream")
    if on_close is not None:
        response.call_on_close(on_close)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # proxies must not hold the pieces back
    return response


def sse(name: str, data) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _encoded(events: Iterable[tuple[str, dict]], failure: str) -> Iterator[str]:
    try:
        for name, data in events:
            yield sse(name, data)
    except Exception:  # the status line is already sent: report the failure as an event
        log.exception("a stream failed")
        yield sse("error", {"error": failure})
