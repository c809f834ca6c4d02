"""`/api/v1/checks/{id}/disputes`: "this verdict is wrong" — stored durably, then reviewed."""
from __future__ import annotations

import hashlib
from typing import Literal

from flask import Blueprint, current_app, g, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.api.checks import find_check, images
from server.auth import require_key
from server.database import store
from server.errors import Problem
from server.review import record_dispute

bp = Blueprint("disputes", __name__, url_prefix="/api/v1/checks")


class DisputeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: Literal["real", "fake"]
    comment: str | None = Field(default=None, max_length=2000)


def _invalid(error: ValidationError) -> Problem:
    reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())
    return Problem(422, "invalid-dispute", "Invalid dispute",
                   f"{reasons}. Send JSON like {{\"label\": \"real\" or \"fake\", \"comment\": \"optional\"}}.")


def _parse() -> tuple[DisputeRequest, bytes | None]:
    """JSON {label, comment}, or a multipart form with the same fields plus the image file again."""
    try:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("image")
            fields = {k: v for k, v in request.form.items() if k in ("label", "comment")}
            return DisputeRequest.model_validate(fields), upload.read() if upload else None
        if request.mimetype != "application/json":
            raise Problem(415, "unsupported-media-type", "Unsupported request body",
                          "Send the dispute as JSON ({\"label\": \"real\" or \"fake\", \"comment\": \"…\"}).")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Problem(422, "invalid-dispute", "Invalid dispute", "The body is not a JSON object. Send "
                          "{\"label\": \"real\" or \"fake\", \"comment\": \"optional\"}.")
        return DisputeRequest.model_validate(body), None
    except ValidationError as error:
        raise _invalid(error) from None


@bp.post("/<check_id>/disputes")
@require_key
def create_dispute(check_id: str):
    payload, data = _parse()
    retention = current_app.config["SETTINGS"].image_retention_hours

    def store_dispute(session) -> dict:
        check = find_check(session, check_id)
        if data is not None and hashlib.sha256(data).hexdigest() != check.sha256:
            raise Problem(422, "image-mismatch", "Not the checked image",
                          "The image sent with the dispute is not the one that was checked (sha256 differs).")
        # The image is made durable first; the dispute row is committed when the transaction ends.
        if not images().keep(check.sha256, data):
            raise Problem(409, "image-not-kept", "Image no longer held",
                          f"The server keeps checked images for {retention:g} hours and no longer holds this "
                          "one. Send the dispute again as multipart/form-data with the image file in 'image'.")
        dispute, item = record_dispute(session, check, g.client, payload.label, payload.comment)
        return {"id": dispute.id, "status": "queued", "check_id": check.id, "review": {"status": item.status}}

    # A repeat sent while the first is still being stored (a double click, a retry) races it for
    # the same dispute row: the loser runs again and updates the winner's row.
    return store().run(store_dispute), 202
