"""Looking inside the lab's models: ``POST /lm/inspect`` (each model's next-piece candidates with their logits,
the Transformer's attention ``[layer][head][query][key]``) and ``POST /mnist/inspect`` (the prediction with
its saliency, most active first-layer units and entropy). Missing models answer 503 naming the stage (or the
`dvc exp run`); ``?experiment=<rev>`` inspects that experiment's models (``GET /experiments``)."""
from __future__ import annotations

import threading

from flask import Blueprint, jsonify, request

from dllab.lab import Lab
from dllab.lazy import Unavailable
from dllab.mnist.explain import explain
from dllab.mnist.predict import to_mnist
from dllab.text.explain import inspect
from web.lm_routes import load_models
from web.mnist_routes import MAX_BODY_BYTES, drawing
from web.responses import json_body
from web.schemas import parse_inspect_request

LM_BODY_BYTES = 64 * 1024  # a 1000-character prompt and 400 ids, JSON-escaped, with room to spare


def blueprint(lab: Lab) -> Blueprint:
    routes = Blueprint("inspect", __name__)
    # The models are shared by every request thread; a forward hook must not see another request's pass.
    one_at_a_time = threading.Lock()

    @routes.post("/lm/inspect")
    def lm_inspect():
        request.max_content_length = LM_BODY_BYTES
        asked = parse_inspect_request(json_body())
        chosen = lab.at(request.args.get("experiment"))
        loaded, unavailable = load_models(chosen, asked.models)
        missing = list(unavailable.values())
        if missing:  # the page shows both columns side by side: say what builds the missing ones
            raise Unavailable(" | ".join(map(str, missing)), " && ".join(exc.build for exc in missing))
        metrics = chosen.test_metrics("lm")
        with one_at_a_time:
            answer = inspect(loaded, asked, metrics)
        answer["evaluated"] = metrics is not None
        answer["evaluate"] = "dvc repro lm_evaluate"
        return jsonify(answer)

    @routes.post("/mnist/inspect")
    def mnist_inspect():
        request.max_content_length = MAX_BODY_BYTES
        chosen = lab.at(request.args.get("experiment"))
        reader = chosen.digits.get()  # Unavailable -> 503 naming `dvc repro mnist_train` (or the `dvc exp run`)
        field = to_mnist(drawing())  # (28, 28), as /mnist/predict reads it
        metrics = chosen.test_metrics("mnist")
        with one_at_a_time:
            answer = explain(reader.model, field, metrics)
        answer["evaluate"] = "dvc repro mnist_evaluate"
        return jsonify(answer)

    return routes
