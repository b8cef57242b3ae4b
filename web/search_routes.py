"""``GET /search?q=…&k=…``: the ranked passages with their dense, lexical and fused scores, file and page,
and the sentence that matched best."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from dllab.lab import Lab
from dllab.rag.explain import explained_search
from web.schemas import parse_search_args


def blueprint(lab: Lab) -> Blueprint:
    routes = Blueprint("search", __name__)

    @routes.get("/search")
    def search():
        question, k = parse_search_args(request.args)
        results = explained_search(lab.search.get(), question, k)
        return jsonify({"query": question, "k": k, "results": results})

    return routes
