"""`/healthz` (the process is alive) and `/readyz` (it can answer checks)."""
from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from server.database import store
from server.errors import Problem
from server.serving import checker

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
    return {"status": "ready", "model_version": checker().model.version}
