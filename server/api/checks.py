"""`/api/v1/checks`: check an image, read a check back."""
from __future__ import annotations

import hashlib
import logging
import math
import re
import time
import uuid

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from core import explain, provenance
from core.blobs import BlobError
from core.check import NO_FACE_NOTE, Assessment
from core.intake import DecodedImage, decode_image
from core.store import CachedCheck, Check
from server import metrics
from server.auth import require_key
from server.cache import CachedResult, result_cache
from server.database import store
from server.errors import Problem
from server.review import dispute_json, queue_uncertain, review_for, review_json
from server.serving import checker

log = logging.getLogger(__name__)
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


VIDEO_GROUP_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_VIDEO_TIME_S = 10_000_000.0   # 115 days: anything longer is not a video's clock


def _video_frame(context) -> tuple[float | None, str | None]:
    """`video_time` (seconds into the video) and `video_group` (the client's id for the frames of one video
    check) of a video frame; both absent for an image."""
    time_text, group = context.get("video_time") or None, context.get("video_group") or None
    if time_text is None and group is None:
        return None, None
    try:
        seconds = float(time_text) if time_text is not None else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= MAX_VIDEO_TIME_S:
        raise Problem(422, "invalid-field", "Invalid field",
                      f"'video_time' is {str(time_text)[:40]!r}: a video frame needs its time in the video in "
                      f"seconds, a number from 0 to {MAX_VIDEO_TIME_S:g} (e.g. video_time=83.4).")
    if group is not None and (not isinstance(group, str) or not VIDEO_GROUP_PATTERN.fullmatch(group)):
        raise Problem(422, "invalid-field", "Invalid field",
                      f"'video_group' is {str(group)[:40]!r}: send 1 to 64 letters, digits, '-' or '_' "
                      "(e.g. a UUID), the same for every frame of one video check, or leave it out.")
    return round(seconds, 3), group


def _context_fields(context) -> dict:
    """Where the image was seen: the Check columns from the request's page_url, source_url and video fields."""
    video_time, video_group = _video_frame(context)
    return {"page_url": _optional_url("page_url", context.get("page_url")),
            "source_url": _optional_url("source_url", context.get("source_url")),
            "video_time": video_time, "video_group": video_group}


def _fetched_image() -> tuple[bytes, dict]:
    """The image behind `{"url": ...}`, fetched under the SSRF rules (server/fetch.py)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"].strip():
        raise Problem(422, "missing-url", "No image URL",
                      'A JSON body must be an object with a string field "url": the address of the image to check, '
                      'e.g. {"url": "https://example.com/photo.jpg"}.')
    url = _optional_url("url", body["url"].strip())
    fetched = current_app.extensions["fetcher"].fetch(url)
    page_url = body.get("page_url")
    return fetched.data, {"source_url": fetched.url, "page_url": page_url if isinstance(page_url, str) else None}


def _form_upload():
    """The form's 'image' file; a form of more parts than Werkzeug parses (max_form_parts) is 422."""
    try:
        return request.files.get("image")
    except RequestEntityTooLarge:
        if request.content_length is not None and request.content_length > request.max_content_length:
            raise
        raise Problem(422, "too-many-form-fields", "Too many form fields",
                      f"The form has more than {request.max_form_parts} parts. Send the image in the field "
                      "'image', with 'page_url', 'source_url' and a video frame's 'video_time' and "
                      "'video_group' at most.") from None


def _image_bytes() -> tuple[bytes, dict]:
    """The image and its context from a multipart form, a raw image body or a JSON `{"url": ...}`."""
    mimetype = request.mimetype or ""
    if mimetype == "application/json":
        return _fetched_image()
    if mimetype == "multipart/form-data":
        upload = _form_upload()
        if upload is None:
            raise Problem(422, "missing-image", "No image in the form",
                          "The multipart form has no field 'image'. Send the image file in a field named 'image'.")
        return upload.read(), request.form
    if mimetype.startswith("image/") or mimetype == "application/octet-stream":
        return request.get_data(cache=False), request.args
    raise Problem(415, "unsupported-media-type", "Unsupported request body",
                  f"A request body of type '{mimetype or 'none'}' cannot be checked. Send the image as the "
                  "multipart field 'image', as the raw body with an image/* content type, or "
                  'as JSON {"url": "<image URL>"}.')


def check_json(check: Check, cached: bool = False) -> dict:
    """The public representation of a check (the API contract)."""
    body = {
        "id": check.id,
        "verdict": check.verdict,
        "reason": check.reason or "model",
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
        "provenance": check.provenance or provenance.Provenance().to_json(),
        "video": ({"time": check.video_time, "group": check.video_group}
                  if check.video_time is not None else None),
    }
    if check.scope == "no_face":
        body["note"] = NO_FACE_NOTE
    return body


def _new_check(image: DecodedImage, assessment: Assessment, declared: dict, elapsed_ms: float, context) -> Check:
    """A scored check; a declaration of generative AI in the image's metadata decides its verdict."""
    verdict, reason = provenance.decide(assessment.verdict, declared)
    return Check(
        id=str(uuid.uuid4()), client=g.client, sha256=image.sha256, width=image.width, height=image.height,
        format=image.format, verdict=verdict, reason=reason, provenance=declared,
        fake_probability=assessment.fake_probability,
        faces=assessment.faces_json(),
        scope=assessment.scope, model_version=assessment.model_version, elapsed_ms=round(elapsed_ms, 2),
        **_context_fields(context),
    )


def _cached_check(sha256: str, model_version: str, hit: CachedResult, elapsed_ms: float, context) -> Check:
    """A new check (own id, own client and context) carrying an earlier scoring's result."""
    result = hit.result
    return Check(
        id=str(uuid.uuid4()), client=g.client, sha256=sha256, width=result["width"], height=result["height"],
        format=result["format"], verdict=result["verdict"], reason=result.get("reason", "model"),
        provenance=result.get("provenance"), fake_probability=result["fake_probability"],
        faces=result["faces"], scope=result["scope"], model_version=model_version, elapsed_ms=round(elapsed_ms, 2),
        **_context_fields(context),
    )


def _result_of(check: Check) -> dict:
    """What the result cache keeps of a scored check."""
    return {"verdict": check.verdict, "reason": check.reason, "fake_probability": check.fake_probability,
            "faces": check.faces, "scope": check.scope, "width": check.width, "height": check.height,
            "format": check.format, "provenance": check.provenance}


def _record(check: Check, data: bytes, cached_from: str | None = None) -> None:
    """Store the check; keep the bytes for a later dispute; queue an uncertain verdict for review.

    The commit does not wait for the disk (durable=False, 4 ms saved per check): a power cut may
    lose the last checks, never a dispute, whose own commit makes everything before it durable.
    """
    settings = current_app.config["SETTINGS"]
    cache = result_cache()
    images().remember(check.sha256, data)

    def store_check(session, review: bool = True) -> None:
        session.add(check)
        session.flush()  # the check row first: cached_checks refers to it
        if cached_from is not None:
            session.add(CachedCheck(check_id=check.id, source_check_id=cached_from))
        # The image is written durably before the row that points at it is committed.
        if review and check.verdict == "uncertain" and queue_uncertain(session, check, settings.review_uncertain_per_day):
            images().keep(check.sha256, data)
        if cached_from is None:
            cache.put(session, check.sha256, check.model_version, check.id, _result_of(check))

    # Two uncertain checks of one image at once race for its review item: the loser runs again.
    try:
        store().run(store_check, durable=False)
    except BlobError as error:
        # Object storage down: the check is still answered, without a review item for an image not kept.
        log.warning("uncertain check %s not queued for review: %s", check.id, error)
        store().run(lambda session: store_check(session, review=False), durable=False)
    if cached_from is None and cache.due_for_pruning():
        with store().session(durable=False) as session:
            cache.prune(session)


def _lookup(sha256: str, model_version: str) -> CachedResult | None:
    cache = result_cache()
    if not cache.enabled:
        return None
    with metrics.timed("cache"), store().session(durable=False) as session:
        hit = cache.lookup(session, sha256, model_version)
    metrics.CACHE_LOOKUPS.labels(result="hit" if hit else "miss").inc()
    return hit


def _explain_flag(context) -> bool:
    """`explain=true` as a query parameter (any body) or a form field."""
    value = request.args.get("explain", context.get("explain") if hasattr(context, "get") else None)
    if value is None or value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise Problem(422, "invalid-field", "Invalid field",
                  f"'explain' is {value[:40]!r}; send explain=true to get heatmaps with the verdict, or leave it out.")


def _face_index(check: Check) -> int | None:
    """The `face` query parameter of an explanation: an index into the check's faces, or None for all."""
    value = request.args.get("face")
    if value is None or value == "":
        return None
    count = len(check.faces) if check.scope == "faces" else 1
    if not value.isdigit() or int(value) >= count:
        raise Problem(422, "invalid-field", "Invalid field",
                      f"'face' is {value[:40]!r}; this check has {count} face{'s' if count != 1 else ''}: "
                      f"send an index from 0 to {count - 1}, or leave it out for all of them.")
    return int(value)


def explanation_json(serving, image: DecodedImage, face: int | None = None) -> dict:
    """Heatmaps of where the served model looked, per face (core/explain.py), with what they cost."""
    started = time.perf_counter()
    with metrics.timed("explain"):
        scope, explained = serving.explain(image, None if face is None else [face])
    return {
        "method": explain.METHOD, "model_version": serving.model.version, "scope": scope,
        "legend": explain.LEGEND, "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
        "faces": [{"index": (face if face is not None else i) if scope == "faces" else None,
                   "box": list(item.box), "fake_probability": item.fake_probability,
                   "heatmap": item.heatmap.to_json(item.region)} for i, item in enumerate(explained)],
    }


def _decode(data: bytes) -> DecodedImage:
    settings = current_app.config["SETTINGS"]
    with metrics.timed("decode"):
        return decode_image(data, settings.max_pixels, settings.max_decoded_mb * 2**20)


@bp.post("")
@require_key
def create_check():
    started = time.perf_counter()
    data, context = _image_bytes()
    wants_explanation = _explain_flag(context)
    # One checker for the whole request: a champion swapped in meanwhile answers the next one.
    serving = checker()
    sha256 = hashlib.sha256(data).hexdigest()
    hit = _lookup(sha256, serving.model.version)
    if hit is not None:
        check = _cached_check(sha256, serving.model.version, hit, (time.perf_counter() - started) * 1000, context)
    else:
        with metrics.timed("provenance"):   # before the model, from the bytes as they came
            declared = provenance.read(data).to_json()
        image = _decode(data)
        assessment = serving.check(image)
        for stage, seconds in assessment.stage_seconds.items():
            metrics.observe_stage(stage, seconds)
        check = _new_check(image, assessment, declared, (time.perf_counter() - started) * 1000, context)
    with metrics.timed("store"):
        _record(check, data, cached_from=hit.check_id if hit else None)
    metrics.CHECKS.labels(verdict=check.verdict, scope=check.scope).inc()
    body = check_json(check, cached=hit is not None)
    if wants_explanation:
        body["explanation"] = explanation_json(serving, image if hit is None else _decode(data))
    return body, 200


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
        body = check_json(check, cached=session.get(CachedCheck, check.id) is not None)
        body["dispute"] = dispute_json(dispute, item)
        body["review"] = review_json(item)
    return body


@bp.get("/<check_id>/explanation")
@require_key
def explain_check(check_id: str):
    """Heatmaps for a check made earlier, from the image the server kept and the model that made it."""
    with store().session(durable=False) as session:
        check = find_check(session, check_id)
        face = _face_index(check)
        sha256, made_by, stored_faces = check.sha256, check.model_version, check.faces
    serving = checker()
    if serving.model.version != made_by:
        raise Problem(409, "model-changed", "The model has changed",
                      f"Check {check_id} was made by model {made_by}; the server now serves "
                      f"{serving.model.version}. Check the image again to see where the new model looked.")
    data = images().read(sha256)
    if data is None:
        retention = current_app.config["SETTINGS"].image_retention_hours
        raise Problem(409, "image-not-kept", "Image no longer held",
                      f"The server keeps checked images for {retention:g} hours and no longer holds this one. "
                      "Check the image again with explain=true.")
    body = explanation_json(serving, _decode(data), face)
    found = [entry["box"] for entry in body["faces"]] if body["scope"] == "faces" else []
    expected = [stored_faces[i]["box"] for i in ([face] if face is not None else range(len(stored_faces)))]
    if found != expected:   # a face detector of another version: its faces are not the check's
        raise Problem(409, "model-changed", "The face detector has changed",
                      f"The faces found now differ from those of check {check_id}. Check the image again "
                      "with explain=true.")
    body["check_id"] = check_id
    return body
