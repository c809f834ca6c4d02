"""Deepfake Guard server: `create_app()` builds everything; nothing happens at import time.

Imports live inside `create_app`: `serve`'s front (server/front.py) is a module of this package and
needs none of Flask, SQLAlchemy or the model runtimes (81 MB resident with them, measured).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app.

    Args:
        test_config: settings that override the environment (field names of `Settings`).
    """
    from flask import Flask
    from flask_cors import CORS
    from werkzeug.middleware.proxy_fix import ProxyFix

    from core.images import ImageStore
    from core.settings import Settings
    from server import blobs, database, errors, limits, observability
    from server.fetch import Fetcher
    from server.keys import StoredKeys

    settings = Settings(**(test_config or {}))
    app = Flask(__name__, instance_path=str(settings.instance_path()), instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_upload_bytes)
    app.json.sort_keys = False
    if settings.proxy_hops:  # the client's address from X-Forwarded-For, as far as the proxies are trusted
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)
    observability.init_app(app, settings.log_format)

    errors.init_app(app)
    database.init_app(app, settings.database_url)
    app.extensions["keys"] = StoredKeys(app.extensions["store"])
    app.extensions["blobs"] = blobs.init_app(app, settings)
    app.extensions["images"] = ImageStore(app.extensions["blobs"], settings.image_retention_hours,
                                          settings.image_cache_max_mb * 1024 * 1024)
    app.extensions["fetcher"] = Fetcher(settings.max_upload_bytes, settings.fetch_allow_hosts)
    # Imported here, not at the top: gunicorn_conf.py imports this package and must set
    # PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported.
    from server import cache, metrics
    cache.init_app(app, settings)
    metrics.init_app(app)
    from server import serving
    serving.init_app(app, settings)
    from core import provenance
    provenance.warm_up()    # the C2PA library loads once here, not inside the first check
    if settings.extension_origins:
        CORS(app, origins=settings.extension_origins, resources={r"/api/*": {}, r"/readyz": {}},
             allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"], max_age=600)

    from server.api import checks, disputes, enrollments, health, labelstudio, model, openapi
    from server.api import metrics as metrics_api
    limits.init_app(app, settings, [checks.bp, disputes.bp, model.bp, enrollments.bp])
    for blueprint in (checks.bp, disputes.bp, model.bp, enrollments.bp, health.bp, labelstudio.bp, openapi.bp,
                      metrics_api.bp):
        app.register_blueprint(blueprint)
    return app
