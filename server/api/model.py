"""`/api/v1/model`: the model that answers checks."""
from __future__ import annotations

from flask import Blueprint

from ..auth import require_key
from ..detector.service import detector

bp = Blueprint("model", __name__, url_prefix="/api/v1/model")


@bp.get("")
@require_key
def read_model():
    info = detector().classifier.info
    metadata = info.metadata
    return {
        "version": info.version,
        "threshold": info.threshold,
        "uncertain_band": list(info.uncertain_band),
        "input_size": info.input_size,
        "architecture": metadata.get("architecture"),
        "trained_on": metadata.get("training_data"),
        "metrics": metadata.get("metrics", {}),
        "created_at": metadata.get("created_at"),
    }
