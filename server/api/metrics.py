"""`GET /metrics`: Prometheus text exposition (see server/metrics.py).

A Prometheus scraper holds no user's API key, so the API keys do not apply here. Instead, with
DFG_METRICS_TOKEN set, a scraper sends `Authorization: Bearer <token>` (Prometheus'
`authorization` scrape setting); without it, only clients on this machine (loopback) are answered,
as the API does without keys. The figures are aggregates (latencies, counts, queue depth), but
they still tell an outsider how busy the server is, so they are not public by default.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from core.reviewers import ReviewerBar
from server import metrics
from server.auth import is_loopback
from server.database import store
from server.errors import Problem

bp = Blueprint("metrics", __name__)


def _authorize() -> None:
    token: str | None = current_app.config["SETTINGS"].metrics_token
    if token is None:
        if is_loopback(request.remote_addr):
            return
        raise Problem(403, "metrics-loopback-only", "Metrics are served to this machine only",
                      "No DFG_METRICS_TOKEN is configured, so /metrics answers loopback clients only. "
                      "Set DFG_METRICS_TOKEN and send it as 'Authorization: Bearer <token>'.")
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), token.encode()):
        raise Problem(401, "unauthorized", "Missing or invalid metrics token",
                      "Send the metrics token (DFG_METRICS_TOKEN) as 'Authorization: Bearer <token>'.",
                      headers={"WWW-Authenticate": 'Bearer realm="deepfake-guard-metrics"'})


@bp.get("/metrics")
def prometheus_metrics():
    _authorize()
    bar = ReviewerBar.of(current_app.config["SETTINGS"])
    return Response(metrics.exposition(store(), bar), mimetype=None, content_type=metrics.CONTENT_TYPE)
