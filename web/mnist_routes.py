"""``POST /mnist/predict``: a drawn digit (784 pixels as JSON, or a PNG) → the MLP's ten probabilities
(``?experiment=<rev>``: that `dvc exp run` experiment's MLP, see ``GET /experiments``)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from dllab.lab import Lab
from dllab.mnist.predict import pixels_from_png
from web.responses import json_body
from web.schemas import BadRequest, pixels_from_json

MAX_BODY_BYTES = 1 << 20  # a 280×280 drawing is ~10 kB as PNG and 784 numbers ~16 kB as JSON


def blueprint(lab: Lab) -> Blueprint:
    routes = Blueprint("mnist", __name__)

    @routes.post("/mnist/predict")
    def predict():
        request.max_content_length = MAX_BODY_BYTES
        reader = lab.at(request.args.get("experiment")).digits.get()  # Unavailable -> 503 naming the stage
        return jsonify(reader.read(drawing()))

    return routes


def drawing():
    """The drawn digit of this request's body: 784 pixels as JSON, or a PNG (BadRequest for anything else)."""
    if request.mimetype == "image/png":
        return pixels_from_png(request.get_data(cache=False))
    if request.is_json:
        return pixels_from_json(json_body())
    raise BadRequest('send {"pixels": [784 numbers]} as application/json, or a PNG as image/png')
