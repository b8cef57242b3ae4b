"""``GET /experiments``: the repository's `dvc exp run` experiments whose models are in the local DVC cache, with
their changed params and test metrics; the other routes take ``?experiment=<rev>`` to use one's models."""
from __future__ import annotations

from flask import Blueprint, jsonify

from dllab.lab import Lab


def blueprint(lab: Lab) -> Blueprint:
    routes = Blueprint("experiments", __name__)

    @routes.get("/experiments")
    def experiments():
        listed = lab.experiments.list() if lab.experiments is not None else []
        return jsonify({"experiments": listed})

    return routes
