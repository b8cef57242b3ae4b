"""The chatbot's routes over ``dllab.chat.service.ChatService``.

``POST /chat`` (one JSON answer), ``POST /chat/stream`` (Server-Sent Events: ``queued`` at once, with the
number of questions ``ahead``, then ``token``... with ``audio``
events among them, one for the question and one per answer sentence as soon as it is said (``role``
``answer_sentence``, ``index`` 0, 1...), then ``sources``, ``audio`` for the whole answer, ``done``; or
``error``), ``GET /audio/<id>`` (a WAV from the speech cache). ``/chat/stream`` checks everything before
its 200 status line.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request, send_file

from web.schemas import parse_chat_request
from dllab.chat.service import ChatService
from dllab.lazy import Unavailable
from web.responses import event_stream, json_body, json_error


def blueprint(service: ChatService) -> Blueprint:
    routes = Blueprint("chat", __name__)

    @routes.post("/chat")
    def chat():
        asked = parse_chat_request(json_body(), service.params)
        result = service.ask(asked.question, asked.history, client_departed())
        return jsonify({"answer": result["answer"], "sources": result["sources"], "cited": result["cited"],
                        "mode": result["mode"], "declined": result["declined"],
                        "audio": {role: _audio_url(clip)["url"] for role, clip in result["audio"].items()},
                        "timings": result["timings"], "history_kept": result["history_kept"]})

    @routes.post("/chat/stream")
    def chat_stream():
        asked = parse_chat_request(json_body(), service.params)
        turn = service.open_turn(asked.question, asked.history, client_departed())  # Busy -> 503 before the stream
        # on_close frees the queue place even if the stream never starts
        return event_stream(_turn_events(turn), on_close=turn.close, failure="the answer could not be generated")

    @routes.get("/audio/<clip_id>")
    def audio(clip_id: str):
        path = service.audio_path(clip_id)
        if path is None:
            return json_error(404, "no such audio clip")
        return send_file(path, mimetype="audio/wav", max_age=3600, conditional=True)

    return routes


def unavailable_blueprint(down: Unavailable) -> Blueprint:
    """The same routes when the chat's model or index is missing: each answers 503 naming the stages."""
    routes = Blueprint("chat", __name__)

    def refuse(**_):
        raise down

    for rule, method in (("/chat", "POST"), ("/chat/stream", "POST"), ("/audio/<clip_id>", "GET")):
        routes.add_url_rule(rule, rule, refuse, methods=[method])
    return routes


def client_departed():
    """Whether this request's client has closed its connection: waitress sees it at once (it reads every
    connection while its request runs, ``channel_request_lookahead``); other WSGI servers only when a write fails."""
    return request.environ.get("waitress.client_disconnected", lambda: False)


def _turn_events(turn):
    with turn:
        for event in turn:
            yield event.name, _audio_url(event.data) if event.name == "audio" else event.data


def _audio_url(clip: dict) -> dict:
    return {**clip, "url": f"/audio/{clip['id']}"}
