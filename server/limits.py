"""Rate limits per API key and per client address (flask-limiter; memory by default, Redis by URL)."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.settings import Settings

# Cheap, public endpoints that monitoring polls: never limited.
EXEMPT_ENDPOINTS = {"health.healthz", "health.readyz", "openapi.openapi_json", "metrics.prometheus_metrics"}


def bearer_key() -> str:
    """The caller's bearer token, hashed (the limiter's storage never sees a key); else the address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:24]
    return "address:" + (get_remote_address() or "unknown")


def init_app(app: Flask, settings: Settings, blueprints: list[Blueprint]) -> Limiter:
    """Limit every request per address and the API blueprints per key; 429 with Retry-After."""
    # Registered before the limiter, so it runs after the limiter's own hook, which writes
    # Retry-After (the window's reset) on every response: keep it on 429 only, and keep the
    # server's own value on the responses that set one (503 store-unavailable).
    @app.after_request
    def _retry_after_only_when_meant(response):
        own = g.get("retry_after")
        if own is not None:
            response.headers["Retry-After"] = own
        elif response.status_code != 429:
            response.headers.pop("Retry-After", None)
        return response

    limiter = Limiter(
        key_func=get_remote_address, app=app, storage_uri=settings.rate_limit_storage_url,
        default_limits=[settings.rate_limit_per_address] if settings.rate_limit_per_address else [],
        default_limits_exempt_when=lambda: request.endpoint in EXEMPT_ENDPOINTS,
        headers_enabled=True, strategy="moving-window", key_prefix="dfg",
    )
    if settings.rate_limit_per_key:
        for blueprint in blueprints:
            limiter.limit(settings.rate_limit_per_key, key_func=bearer_key, scope="per-key")(blueprint)
    return limiter
