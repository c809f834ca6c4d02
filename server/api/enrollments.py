"""`POST /api/v1/enrollments`: redeem a one-time enrolment code for a per-person API key.

No key is needed (getting one is the point); the code is the credential: 32 random bytes, used
once, expiring. Requests are limited per address like every unauthenticated request.
"""
from __future__ import annotations

import logging

from flask import Blueprint, request

from server.database import store
from server.errors import Problem
from server.keys import ENROLLMENT_PREFIX, EnrollmentRefused, redeem_enrollment

bp = Blueprint("enrollments", __name__, url_prefix="/api/v1/enrollments")
log = logging.getLogger(__name__)
MAX_CODE_LENGTH = 200
REFUSALS = {
    "unknown": (404, "enrollment-not-found", "Unknown enrolment code",
                "No enrolment has this code. Check that it was copied whole, or ask for a new one."),
    "used": (410, "enrollment-used", "Enrolment code already used",
             "This code was already redeemed (each works once). Ask your organisation for a new one."),
    "expired": (410, "enrollment-expired", "Enrolment code expired",
                "This code has expired. Ask your organisation for a new one."),
}


@bp.post("")
def redeem():
    body = request.get_json(silent=True)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code.strip().startswith(ENROLLMENT_PREFIX) or len(code) > MAX_CODE_LENGTH:
        raise Problem(422, "invalid-enrollment-code", "No enrolment code",
                      f'Send JSON {{"code": "{ENROLLMENT_PREFIX}…"}}: the code from `deepfake-guard keys enroll`, '
                      "as your organisation gave it to you.")
    try:
        key_row, key = redeem_enrollment(store(), code)
    except EnrollmentRefused as refused:
        raise Problem(*REFUSALS[refused.reason]) from None
    log.info("enrolment redeemed: key %s (%s)", key_row.id, key_row.name)
    return {"api_key": key, "key_id": key_row.id, "name": key_row.name}, 201
