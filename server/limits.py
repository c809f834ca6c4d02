"""Rate limits per API key and per client address (flask-limiter; memory by default, Redis by URL).

Every API call counts against its address's limit, whatever key it carries; a valid key is also
counted against its own limit; and an address whose calls keep failing authentication meets a
429 after DFG_RATE_LIMIT_FAILED_AUTH failures (invented keys cost a bucket each no longer).
"""
from __future__ import annotations

from flask import Blueprint, Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.settings import Settings
from server.auth import caller

# Cheap, public endpoints that monitoring polls: never limited.
EXEMPT_ENDPOINTS = {"health.healthz", "health.readyz", "openapi.openapi_json", "metrics.prometheus_metrics"}


def bearer_key() -> str:
    """The caller's key id (never the key itself) when the key is valid; else the address."""
    client = caller()
    return f"client:{client}" if client else "address:" + (get_remote_address() or "unknown")


def _has_valid_key() -> bool:
    return caller() is not None


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

    shared = not settings.rate_limit_storage_url.startswith("memory://")
    limiter = Limiter(
        key_func=get_remote_address, app=app, storage_uri=settings.rate_limit_storage_url,
        default_limits=[settings.rate_limit_per_address] if settings.rate_limit_per_address else [],
        default_limits_exempt_when=lambda: request.endpoint in EXEMPT_ENDPOINTS,
        headers_enabled=True, strategy="moving-window", key_prefix="dfg",
        # Redis down: fail open to counts in each process's memory (still a limit, per worker) rather than
        # refuse every check; flask-limiter tries Redis again after 1, 2, 4 … 32 s. A Redis that does not
        # answer costs a request at most a second. docs/operations.md says why.
        in_memory_fallback_enabled=shared, swallow_errors=shared,
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if shared else {},
    )
    app.extensions["dfg_limiter"] = limiter
    for blueprint in blueprints:
        # Each limit beside the default per-address one, which a blueprint's own limit would replace.
        if settings.rate_limit_per_key:
            limiter.limit(settings.rate_limit_per_key, key_func=bearer_key, scope="per-key",
                          override_defaults=False)(blueprint)
        if settings.rate_limit_failed_auth:
            limiter.limit(settings.rate_limit_failed_auth, key_func=get_remote_address, scope="failed-auth",
                          override_defaults=False, exempt_when=_has_valid_key,
                          deduct_when=lambda response: response.status_code == 401)(blueprint)
    return limiter


def shared_counts_problem(app: Flask) -> str | None:
    """For /readyz: why the limits are counted per process instead of in the shared store, or None."""
    limiter: Limiter = app.extensions["dfg_limiter"]
    if getattr(limiter, "_storage_dead", False):
        return "the rate-limit store (DFG_RATE_LIMIT_STORAGE_URL) does not answer: limits are counted per process"
    return None
