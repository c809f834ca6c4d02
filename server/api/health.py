"""`/healthz` (the process is alive) and `/readyz` (it can answer checks)."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app
from sqlalchemy.exc import SQLAlchemyError

from server import blobs, limits
from server.database import store
from server.errors import Problem
from server.serving import checker, holder

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    try:
        store().ping()
    except SQLAlchemyError as error:
        log.warning("store not reachable: %s", error.__class__.__name__)
        raise Problem(503, "store-unavailable", "Store unavailable",
                      "The server cannot reach its database. Check DFG_DATABASE_URL and the database server.")
    serving = checker()
    # Ready (200) as long as checks can be answered; what is degraded is named.
    degraded = {}
    blob_problem = blobs.health().problem()
    if blob_problem:
        degraded["blob_store"] = blob_problem + " (checks are answered; images are not kept, disputes wait)"
    limits_problem = limits.shared_counts_problem(current_app)
    if limits_problem:
        degraded["rate_limits"] = limits_problem
    if holder().behind:
        behind = holder().behind
        degraded["model"] = (f"the champion is {behind['version'] or 'the shipped default'}, this server still "
                             f"serves {serving.model.version}: {behind['error']}")
    body = {"status": "degraded" if degraded else "ready", "model_version": serving.model.version}
    if degraded:
        body["degraded"] = degraded
    return body
