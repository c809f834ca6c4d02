"""RFC 9457 problem details: every error the API returns, never HTML, never a traceback."""
from __future__ import annotations

import logging

from flask import Flask, Response, g, has_request_context, json, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from core.blobs import BlobError
from core.problems import Problem, body_too_large, problem_document

STORE_RETRY_AFTER_SECONDS = "2"
BLOB_RETRY_AFTER_SECONDS = "30"
log = logging.getLogger(__name__)

# Clearer details than Werkzeug's defaults for the statuses a client meets most.
_DEFAULT_DETAIL = {
    404: "No such resource. See GET /openapi.json for the API.",
    405: "This method is not allowed on this resource. See GET /openapi.json for the API.",
}


def problem_response(status: int, slug: str, title: str, detail: str, headers: dict | None = None,
                     **extra: object) -> Response:
    body = problem_document(status, slug, title, detail, request.path if has_request_context() else None,
                            g.get("request_id") if has_request_context() else None, **extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    detail = _DEFAULT_DETAIL.get(status) or error.description or error.name
    headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")}
    if status == 413:
        limit = request.max_content_length if request else None
        if limit:
            return _problem(body_too_large(limit), headers)
        return problem_response(413, "payload-too-large", "Request body too large", detail, headers,
                                limit_bytes=limit)
    slug = error.name.lower().replace(" ", "-")
    return problem_response(status, slug, error.name, detail, headers)


def _problem(error: Problem, headers: dict | None = None) -> Response:
    return problem_response(error.status, error.slug, error.title, error.detail, {**error.headers, **(headers or {})},
                            **error.extra)


def _store_unavailable(error: Exception) -> Response:
    # The driver's message only: SQLAlchemy's own text carries the statement and its parameters.
    cause = getattr(error, "orig", None) or error
    log.error("store unavailable on %s %s: %s: %s", request.method, request.path,
              type(cause).__name__, (str(cause).splitlines() or [""])[0])
    g.retry_after = STORE_RETRY_AFTER_SECONDS  # kept by server/limits.py over the rate limiter's header
    return problem_response(503, "store-unavailable", "Store unavailable",
                            "The server's database is locked or cannot be reached, so nothing was stored. "
                            "Send the same request again shortly.", {"Retry-After": STORE_RETRY_AFTER_SECONDS})


def _blob_store_unavailable(error: BlobError) -> Response:
    log.error("file store unavailable on %s %s: %s", request.method, request.path, error)
    g.retry_after = BLOB_RETRY_AFTER_SECONDS
    return problem_response(503, "blob-store-unavailable", "File store unavailable",
                            "The server cannot reach its file store (DFG_BLOB_URL), so nothing was recorded. "
                            "Send the same request again in a minute.", {"Retry-After": BLOB_RETRY_AFTER_SECONDS})


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem_response(500, "internal-error", "Internal server error",
                            "The server failed to handle this request; it has been logged. Try again later.")


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, _problem)
    app.register_error_handler(HTTPException, _http_exception)
    # Locked (SQLite busy past its timeout), connection refused or dropped (PostgreSQL down): 503.
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error, _store_unavailable)
    app.register_error_handler(BlobError, _blob_store_unavailable)   # object storage down or refusing
    app.register_error_handler(Exception, _unexpected)
