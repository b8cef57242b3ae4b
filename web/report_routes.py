"""``GET /report``: the pipeline's report (reports/index.html, its figures embedded as data: URIs)."""
from __future__ import annotations

from flask import Blueprint, send_file

from dllab.lab import Lab

# The report is a file of the pipeline's own making with an inline stylesheet and no script at all.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")


def blueprint(lab: Lab) -> Blueprint:
    routes = Blueprint("report", __name__)

    @routes.get("/report")
    def report():
        response = send_file(lab.report.get(), mimetype="text/html", max_age=0)
        response.headers["Content-Security-Policy"] = REPORT_CSP
        return response

    return routes
