"""Problems a request can have (bad image, refused URL, ...): raised by core code, shown by the server as
RFC 9457 problem details (server/errors.py)."""
from __future__ import annotations

PROBLEM_TYPE_BASE = "https://deepfake-guard.dev/problems/"


class Problem(Exception):
    """A domain error that becomes a problem+json response.

    Args:
        status: HTTP status code.
        slug: short machine-readable name; the problem `type` is PROBLEM_TYPE_BASE + slug.
        title: short summary, the same for every occurrence of this problem.
        detail: what was wrong in this request and what to do about it.
        extra: further members for the body (e.g. the limit that was exceeded).
    """

    def __init__(self, status: int, slug: str, title: str, detail: str, headers: dict | None = None,
                 **extra: object) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem_document(status: int, slug: str, title: str, detail: str, instance: str | None,
                     request_id: str | None, **extra: object) -> dict:
    """The RFC 9457 body of a problem, as the app (server/errors.py) and serve's front (server/front.py) send it."""
    return {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail,
            "instance": instance, "request_id": request_id, **extra}


def body_too_large(limit: int) -> Problem:
    """A request body over DFG_MAX_UPLOAD_BYTES, whoever noticed it: the app or serve's front."""
    return Problem(413, "payload-too-large", "Request body too large",
                   f"The request body is larger than the limit of {limit} bytes (DFG_MAX_UPLOAD_BYTES). "
                   "Send a smaller image.", limit_bytes=limit)
