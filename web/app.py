"""The lab's web API and page: a thin Flask layer over ``dllab``, one blueprint per system.

- chat (``web/chat_routes.py``): ``POST /chat``, ``POST /chat/stream``, ``GET /audio/<id>``;
- digits (``web/mnist_routes.py``): ``POST /mnist/predict``;
- inside the models (``web/inspect_routes.py``): ``POST /lm/inspect``, ``POST /mnist/inspect``;
- experiments (``web/experiment_routes.py``): ``GET /experiments`` (the others take ``?experiment=<rev>``);
- language models (``web/lm_routes.py``): ``POST /lm/generate`` (Server-Sent Events);
- retrieval (``web/search_routes.py``): ``GET /search?q=…&k=…``;
- report (``web/report_routes.py``): ``GET /report``;
- speech input (``web/transcribe_routes.py``): ``POST /transcribe`` (a recorded question → its text);
and here ``GET /`` (the page), ``GET /health`` (the chat service and each section's status).

Every client mistake is a 4xx JSON ``{"error": ...}``; a section whose artifacts are missing answers 503
with ``{"error", "build"}`` (the ``dvc repro`` command that makes them); anything else is logged and
answered with a generic 500, never a stack trace.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import urllib.parse
from pathlib import Path

from flask import Flask, Response, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from web.schemas import body_limit
from dllab.chat.service import CHAT_BUILD, Busy, ChatService, Departed
from dllab.errors import UserError
from dllab.lab import Lab, LabFiles
from dllab.lazy import Unavailable
from web import (chat_routes, experiment_routes, inspect_routes, lm_routes, mnist_routes, report_routes, search_routes,
                 transcribe_routes)
from web.responses import SECURITY_HEADERS, json_error

log = logging.getLogger("web")
HERE = Path(__file__).resolve().parent
NO_CHAT_BODY_LIMIT = 64 * 1024  # requests' largest body when there is no chat (each section sets its own)
# A Host header: a name or an IPv4 address, or an IPv6 address in brackets, then an optional port. Nothing else
# may follow the name: "localhost:evil.example" is not a port.
HOST_HEADER = re.compile(r"(?P<name>[a-z0-9.-]+|\[(?P<ipv6>[0-9a-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?")


def create_app(service: ChatService | None, loopback_only: bool = True, lab: Lab | None = None,
               chat_down: Unavailable | None = None, transcriber=None) -> Flask:
    """The app over ``service`` and ``lab`` (default: this repository's pipeline outputs, searched with the
    chat service's index); ``loopback_only`` refuses requests whose Host is not a loopback name. Without a
    service (its files are missing: ``chat_down`` says which), the chat's routes answer 503 and the other
    sections work as usual. ``transcriber`` (a ``dllab.speech.transcribe.Transcriber``, or None when Whisper's
    files are missing: ``/transcribe`` then answers 503) turns recorded questions into text."""
    if service is None and chat_down is None:
        raise ValueError("create_app needs a chat service or the reason why there is none (chat_down)")
    lab = lab or Lab(LabFiles.under(HERE.parent), retriever=service.retriever if service else None)
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = body_limit(service.params) if service else NO_CHAT_BODY_LIMIT
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    @app.before_request
    def local_means_local():
        # A page on another site could reach 127.0.0.1 through a name that resolves there (DNS rebinding);
        # its requests carry that name in Host.
        host = request.headers.get("Host")
        if loopback_only and not loopback_host(host):
            return json_error(403, f"the Host header {host!r:.80} is not a loopback name; this server answers "
                                   "http://127.0.0.1 and http://localhost only (start it with --host to serve others)")

    @app.before_request
    def query_is_text():
        # Werkzeug replaces what is not UTF-8 with U+FFFD: the question searched would not be the one sent.
        try:
            urllib.parse.unquote_to_bytes(request.query_string).decode("utf-8")
        except UnicodeDecodeError:
            return json_error(400, "the query string is not valid UTF-8 text once its %-escapes are decoded")

    @app.get("/")
    def index():
        return send_file(HERE / "index.html", mimetype="text/html", max_age=0)

    @app.get("/favicon.ico")
    def favicon():
        return "", 204  # no icon: browsers ask for one on every page (the report's too)

    @app.get("/health")
    def health():
        chat = {"ready": True, "loaded": True, "build": CHAT_BUILD, "missing": []} if service else chat_down.status()
        speech_input = transcriber.status() if transcriber else {"ready": False, "loaded": False,
                                                                    "build": transcribe_routes.BUILD}
        return jsonify({"status": "ok", **(service.health() if service else {}), "transcribe": speech_input,
                        "sections": {"chat": chat, **lab.status()}})

    app.register_blueprint(chat_routes.blueprint(service) if service else chat_routes.unavailable_blueprint(chat_down))
    for section in (mnist_routes, lm_routes, inspect_routes, experiment_routes, search_routes, report_routes):
        app.register_blueprint(section.blueprint(lab))
    app.register_blueprint(transcribe_routes.blueprint(transcriber))

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)  # a route may set a stricter policy of its own (/report)
        return response

    _register_error_handlers(app)
    return app


def loopback_host(host_header: str | None) -> bool:
    """Whether a Host header (``name[:port]``) names this machine: localhost, *.localhost or a loopback IP,
    with nothing after the name but a port number.

    A server bound to 127.0.0.1 refuses other names so that a web page cannot reach it through a DNS
    name that resolves to 127.0.0.1 (DNS rebinding). Any port is accepted: a tunnel or a port forward
    may show the server under another one.
    """
    parts = HOST_HEADER.fullmatch((host_header or "").strip().lower())
    if parts is None or (parts["port"] is not None and not 0 < int(parts["port"]) < 65536):
        return False
    name = parts["ipv6"] or parts["name"].removesuffix(".")
    if parts["ipv6"] is None and (name == "localhost" or name.endswith(".localhost")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback and (address.version == 6) == (parts["ipv6"] is not None)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(UserError)  # BadRequest, and any other mistake a request could still trigger
    def bad_request(exc: UserError):
        return json_error(400, str(exc))

    @app.errorhandler(Busy)
    def busy(exc: Busy):
        return json_error(503, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.errorhandler(Departed)
    def departed(exc: Departed):
        # Nobody reads it; 499 (nginx's "client closed request") tells it apart from answers sent, in any log.
        return json_error(499, "the client closed the connection before the answer")

    @app.errorhandler(Unavailable)
    def unavailable(exc: Unavailable):
        return json_error(503, str(exc), build=exc.build)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        limit = request.max_content_length
        messages = {404: "not found", 405: f"method {request.method} is not allowed here",
                    413: f"the request body is larger than {limit} bytes"}
        response = json_error(exc.code or 500, messages.get(exc.code, exc.description or exc.name))
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return json_error(500, "internal error; the server log has the details")
