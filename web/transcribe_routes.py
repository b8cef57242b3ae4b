"""Speech input: ``POST /transcribe`` over ``dllab.speech.transcribe.Transcriber`` (Whisper base).

The body is the recording itself, as a browser's MediaRecorder makes it (``audio/webm;codecs=opus``,
``audio/ogg``) or a WAV file, with its Content-Type; the answer is ``{"text", "language", "seconds"}``.
A body over ``stt.max_mb`` is refused (413) before it is read, anything that is not a recording of at most
``stt.max_seconds`` gets a 400 naming the problem (``{"error", "problem"}``: empty, unreadable, too_long,
too_large), and a full queue a 503 with Retry-After.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from dllab.speech.transcribe import BUILD, AudioError, Transcriber, TranscriberBusy
from web.responses import json_error

# What MediaRecorder and audio files are sent as; octet-stream for clients that do not say.
AUDIO_TYPES = ("audio/", "video/webm", "video/ogg", "application/ogg", "application/octet-stream")


def blueprint(transcriber: Transcriber | None) -> Blueprint:
    routes = Blueprint("transcribe", __name__)

    @routes.post("/transcribe")
    def transcribe():
        if transcriber is None:
            return json_error(503, "speech recognition is unavailable: Whisper's files are missing", build=BUILD)
        if not request.mimetype.startswith(AUDIO_TYPES):
            return json_error(415, f"send the recording itself as the body, with its Content-Type (audio/webm, "
                                   f"audio/ogg or audio/wav), not {request.mimetype or 'no type'!r}")
        request.max_content_length = transcriber.max_bytes  # this route's own limit (413 before reading)
        try:
            heard = transcriber.transcribe(request.get_data(cache=False))
        except AudioError as exc:
            return json_error(400, str(exc), problem=exc.problem)
        except TranscriberBusy as exc:
            return json_error(503, str(exc), {"Retry-After": str(exc.retry_after)})
        return jsonify({"text": heard.text, "language": heard.language, "seconds": heard.seconds})

    return routes
