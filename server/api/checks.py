"""`/api/v1/checks`: check an image, read a check back."""
from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, g, request

from ..auth import require_key
from ..detector.pipeline import NO_FACE_NOTE, Assessment
from ..detector.service import detector
from ..errors import Problem
from ..intake import DecodedImage, decode_image
from ..review import dispute_json, queue_uncertain, review_for, review_json
from ..store import Check, store

bp = Blueprint("checks", __name__, url_prefix="/api/v1/checks")
MAX_URL_LENGTH = 2048


def images():
    return current_app.extensions["images"]


def _optional_url(name: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_URL_LENGTH:
        raise Problem(422, "invalid-field", "Invalid field",
                      f"'{name}' is {len(value)} characters long; the limit is {MAX_URL_LENGTH}.")
    return value


def _image_bytes() -> tuple[bytes, dict]:
    """The uploaded image and its context from a multipart form or a raw image body."""
    mimetype = request.mimetype or ""
    if mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise Problem(422, "missing-image", "No image in the form",
                          "The multipart form has no field 'image'. Send the image file in a field named 'image'.")
        return upload.read(), request.form
    if mimetype.startswith("image/") or mimetype == "application/octet-stream":
        return request.get_data(cache=False), request.args
    raise Problem(415, "unsupported-media-type", "Unsupported request body",
                  f"A request body of type '{mimetype or 'none'}' cannot be checked. Send the image as the "
                  "multipart field 'image', or as the raw body with an image/* content type.")


def check_json(check: Check, cached: bool = False) -> dict:
    """The public representation of a check (the API contract)."""
    body = {
        "id": check.id,
        "verdict": check.verdict,
        "fake_probability": check.fake_probability,
        "faces": check.faces,
        "scope": check.scope,
        "model_version": check.model_version,
        "image": {"sha256": check.sha256, "width": check.width, "height": check.height, "format": check.format},
        "cached": cached,
        "elapsed_ms": check.elapsed_ms,
        "created_at": check.created_at.isoformat(),
        "page_url": check.page_url,
        "source_url": check.source_url,
    }
    if check.scope == "no_face":
        body["note"] = NO_FACE_NOTE
    return body


def _new_check(image: DecodedImage, assessment: Assessment, elapsed_ms: float, context) -> Check:
    return Check(
        id=str(uuid.uuid4()), client=g.client, sha256=image.sha256, width=image.width, height=image.height,
        format=image.format, verdict=assessment.verdict, fake_probability=assessment.fake_probability,
        faces=[{"box": list(face.box), "fake_probability": face.fake_probability} for face in assessment.faces],
        scope=assessment.scope, model_version=assessment.model_version, elapsed_ms=round(elapsed_ms, 2),
        page_url=_optional_url("page_url", context.get("page_url")),
        source_url=_optional_url("source_url", context.get("source_url")),
    )


def _record(check: Check, data: bytes) -> None:
    """Store the check; keep the bytes for a later dispute; queue an uncertain verdict for review."""
    settings = current_app.config["SETTINGS"]
    images().remember(check.sha256, data)
    with store().session() as session:
        session.add(check)
        session.flush()
        # The image is written durably before the row that points at it is committed.
        if check.verdict == "uncertain" and queue_uncertain(session, check, settings.review_uncertain_per_day):
            images().keep(check.sha256, data)


@bp.post("")
@require_key
def create_check():
    started = time.perf_counter()
    data, context = _image_bytes()
    image = decode_image(data, current_app.config["SETTINGS"].max_pixels)
    assessment = detector().assess(image)
    check = _new_check(image, assessment, (time.perf_counter() - started) * 1000, context)
    _record(check, data)
    return check_json(check), 200


def find_check(session, check_id: str) -> Check:
    """The caller's check, or a 404 problem (another key's check is not found either)."""
    check = session.get(Check, check_id)
    if check is None or check.client != g.client:
        raise Problem(404, "check-not-found", "Check not found",
                      f"There is no check '{check_id}' made with your API key.")
    return check


@bp.get("/<check_id>")
@require_key
def read_check(check_id: str):
    with store().session() as session:
        check = find_check(session, check_id)
        dispute, item = review_for(session, check, g.client)
        body = check_json(check)
        body["dispute"] = dispute_json(dispute, item)
        body["review"] = review_json(item)
    return body
