"""`/api/v1/model`: the model that answers checks now (the registry's champion, or the shipped default)."""
from __future__ import annotations

from flask import Blueprint

from server.auth import require_key
from server.serving import holder

bp = Blueprint("model", __name__, url_prefix="/api/v1/model")


@bp.get("")
@require_key
def read_model():
    models = holder()
    info = models.current().model.info
    metadata = info.metadata
    return {
        "version": info.version,
        "source": models.source,
        "threshold": info.threshold,
        "uncertain_band": list(info.uncertain_band),
        "input_size": info.input_size,
        "architecture": metadata.get("architecture"),
        "parent_version": metadata.get("parent_version"),
        "trained_on": metadata.get("training_data"),
        "data_rule": metadata.get("data_rule"),
        "metrics": metadata.get("metrics", {}),
        "robustness": metadata.get("robustness"),
        "created_at": metadata.get("created_at"),
    }
