"""The chatbot's web API and page: a thin Flask layer over ``dllab.chat.service.ChatService``.

Routes: ``GET /`` (the page), ``POST /chat`` (one JSON answer), ``POST /chat/stream`` (Server-Sent Events:
``token``... with ``audio`` events among them, one for the question and one per answer sentence as soon as
it is said (``role`` ``answer_sentence``, ``index`` 0, 1...), then ``sources``, ``audio`` for the whole
answer, ``done``; or ``error``), ``GET /audio/<id>`` (a WAV from the speech cache) and ``GET /health``.
Every client mistake is a 4xx JSON ``{"error": ...}`` and ``/chat/stream`` checks everything before its
200 status line; anything else is logged and answered with a generic 500, never a stack trace.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Flask, Response, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from dllab.chat.requests import BadRequest, body_limit, decode_json, loopback_name, parse_chat_request
from dllab.chat.service import Busy, ChatService
from dllab.errors import UserError

log = logging.getLogger("web")
HERE = Path(__file__).resolve().parent

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
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(service: ChatService, loopback_only: bool = True) -> Flask:
    """The app over ``service``; ``loopback_only`` refuses requests whose Host is not a loopback name."""
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = body_limit(service.params)
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    @app.before_request
    def local_means_local():
        # A page on another site could reach 127.0.0.1 through a name that resolves there (DNS rebinding);
        # its requests carry that name in Host.
        host = request.headers.get("Host")
        if loopback_only and not loopback_name(host):
            return _error(403, f"the Host header {host!r:.80} is not a loopback name; this server answers "
                               "http://127.0.0.1 and http://localhost only (start it with --host to serve others)")

    @app.get("/")
    def index():
        return send_file(HERE / "index.html", mimetype="text/html", max_age=0)

    @app.get("/health")
    def health():
        return jsonify({"status": "ok", **service.health()})

    @app.post("/chat")
    def chat():
        asked = _chat_request(service)
        result = service.ask(asked.question, asked.history)
        return jsonify({"answer": result["answer"], "sources": result["sources"], "cited": result["cited"],
                        "mode": result["mode"], "declined": result["declined"],
                        "audio": {role: _audio_url(clip)["url"] for role, clip in result["audio"].items()},
                        "timings": result["timings"], "history_kept": result["history_kept"]})

    @app.post("/chat/stream")
    def chat_stream():
        asked = _chat_request(service)
        turn = service.open_turn(asked.question, asked.history)  # Busy -> 503 before the stream starts
        response = Response(_server_sent_events(turn), mimetype="text/event-stream")
        response.call_on_close(turn.close)  # frees the queue place even if the stream never starts
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # proxies must not hold the tokens back
        return response

    @app.get("/audio/<clip_id>")
    def audio(clip_id: str):
        path = service.audio_path(clip_id)
        if path is None:
            return _error(404, "no such audio clip")
        return send_file(path, mimetype="audio/wav", max_age=3600, conditional=True)

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    _register_error_handlers(app)
    return app


def _chat_request(service: ChatService):
    if not request.is_json:
        raise BadRequest("send the request as JSON with the header Content-Type: application/json")
    return parse_chat_request(decode_json(request.get_data(cache=False)), service.params)


def _server_sent_events(turn):
    with turn:
        try:
            for event in turn:
                data = _audio_url(event.data) if event.name == "audio" else event.data
                yield f"event: {event.name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        except Exception:  # the status line is already sent: report the failure as an event
            log.exception("a streamed chat turn failed")
            yield f"event: error\ndata: {json.dumps({'error': 'the answer could not be generated'})}\n\n"


def _audio_url(clip: dict) -> dict:
    return {**clip, "url": f"/audio/{clip['id']}"}


def _error(status: int, message: str, headers: dict | None = None):
    response = jsonify({"error": message})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(UserError)  # BadRequest, and any other mistake a request could still trigger
    def bad_request(exc: UserError):
        return _error(400, str(exc))

    @app.errorhandler(Busy)
    def busy(exc: Busy):
        return _error(503, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {404: "not found", 405: f"method {request.method} is not allowed here",
                    413: f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"}
        response = _error(exc.code or 500, messages.get(exc.code, exc.description or exc.name))
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error(500, "internal error; the server log has the details")
