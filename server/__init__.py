"""Deepfake Guard server: `create_app()` builds everything; nothing happens at import time."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from flask_cors import CORS

from . import errors, store
from .settings import Settings


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app.

    Args:
        test_config: settings that override the environment (field names of `Settings`).
    """
    settings = Settings(**(test_config or {}))
    instance_path = str(Path(settings.instance_dir).resolve()) if settings.instance_dir else None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_upload_bytes)
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    errors.init_app(app)
    store.init_app(app, settings.database_url)
    from .detector import service
    service.init_app(app, settings)
    if settings.extension_origins:
        CORS(app, origins=settings.extension_origins, resources={r"/api/*": {}, r"/readyz": {}},
             allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"], max_age=600)

    from .api import checks, health, model, openapi
    for blueprint in (checks.bp, model.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    return app
