"""``POST /lm/generate``: both language models continue one prompt, streamed side by side (Server-Sent
Events: ``piece`` {model, text, p, tokens}, ``done`` {model, pieces, seconds}, ``unavailable`` {model, error,
build} for a model whose files are missing, then ``end``). ``?experiment=<rev>``: that `dvc exp run`
experiment's models (``GET /experiments``)."""
from __future__ import annotations

import threading

from flask import Blueprint, request

from dllab.chat.service import Busy
from dllab.lab import Lab
from dllab.lazy import Unavailable
from dllab.text.race import race
from web.responses import event_stream, json_body
from web.schemas import parse_race_request

RACES = 2  # generations at once; more get 503 at once (each holds a server thread while it streams)
RETRY_AFTER_S = 2


def blueprint(lab: Lab) -> Blueprint:
    routes = Blueprint("lm", __name__)
    places = threading.BoundedSemaphore(RACES)

    @routes.post("/lm/generate")
    def generate():
        asked = parse_race_request(json_body())
        loaded, unavailable = load_models(lab.at(request.args.get("experiment")), asked.models)
        missing = [("unavailable", {"model": name, "error": str(exc), "build": exc.build})
                   for name, exc in unavailable.items()]
        if not loaded:  # nothing to stream: one JSON 503 naming what builds them
            raise Unavailable(" | ".join(event[1]["error"] for event in missing),
                              " && ".join(event[1]["build"] for event in missing))
        if not places.acquire(blocking=False):
            raise Busy(RETRY_AFTER_S, f"{RACES} generations are already running")
        released = threading.Event()

        def release():
            if not released.is_set():
                released.set()
                places.release()

        def events():
            try:
                yield from missing
                yield from race(loaded, asked)
            finally:
                release()

        return event_stream(events(), on_close=release)

    return routes


def load_models(chosen: Lab, names) -> tuple[dict, dict[str, Unavailable]]:
    """The asked language models of ``chosen`` that are here, and why each of the others is not."""
    loaded, unavailable = {}, {}
    for name in names:
        try:
            loaded[name] = chosen.models[name].get()
        except Unavailable as exc:
            unavailable[name] = exc
    return loaded, unavailable
