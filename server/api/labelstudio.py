"""`/api/v1/labelstudio/webhook`: annotation events from Label Studio, authenticated by a shared secret.

Label Studio sends each event once, synchronously inside the reviewer's save, and gives up after
1 s: this view only validates and stores. The sync's pull is the safety net for lost events.
"""
from __future__ import annotations

import hmac
import logging
from typing import Any, Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from core.outcomes import WEBHOOK_SECRET_HEADER, apply_annotation, remove_annotations
from core.resolution import ReviewRule
from server.database import store
from server.errors import Problem

bp = Blueprint("labelstudio", __name__, url_prefix="/api/v1/labelstudio")
log = logging.getLogger(__name__)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")   # Label Studio sends whole rows; we read a few fields


class Annotation(_Lenient):
    id: int
    result: list[dict[str, Any]] = Field(default_factory=list)
    was_cancelled: bool = False
    completed_by: int | dict[str, Any] | None = None


class TaskData(_Lenient):
    ext_id: str | None = None


class Task(_Lenient):
    id: int
    data: TaskData


class AnnotationEvent(_Lenient):
    action: Literal["ANNOTATION_CREATED", "ANNOTATION_UPDATED"]
    annotation: Annotation
    task: Task


class DeletedRef(_Lenient):
    id: int


class AnnotationsDeleted(_Lenient):
    action: Literal["ANNOTATIONS_DELETED"]
    annotations: list[DeletedRef]


class OtherEvent(_Lenient):
    action: str


_KNOWN = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"}
_EVENT = TypeAdapter(AnnotationEvent | AnnotationsDeleted)


def _authenticate() -> None:
    secret = current_app.config["SETTINGS"].label_studio_webhook_secret
    if not secret:
        raise Problem(503, "webhook-not-configured", "Webhook not configured",
                      "This server has no DFG_LABEL_STUDIO_WEBHOOK_SECRET, so it accepts no webhook calls. Set it, "
                      "restart, and run `deepfake-guard labelstudio setup` to register the webhook with it.")
    supplied = request.headers.get(WEBHOOK_SECRET_HEADER, "")
    if not hmac.compare_digest(supplied.encode(), secret.encode()):
        raise Problem(401, "webhook-unauthorized", "Missing or wrong webhook secret",
                      f"Send the shared secret in the '{WEBHOOK_SECRET_HEADER}' header; "
                      "`deepfake-guard labelstudio setup` registers the webhook with it.")


def _malformed(detail: str) -> Problem:
    return Problem(422, "invalid-webhook", "Invalid webhook body",
                   f"{detail}. Expected a Label Studio webhook: {{\"action\": \"ANNOTATION_CREATED\", "
                   "\"annotation\": {\"id\", \"result\", ...}, \"task\": {\"id\", \"data\": {\"ext_id\"}}}.")


def _parse() -> AnnotationEvent | AnnotationsDeleted | None:
    """The event, None for actions we do not handle, or a 4xx problem."""
    if request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Unsupported request body",
                      f"The webhook body must be application/json, not '{request.mimetype or 'none'}'.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _malformed("The body is not a JSON object")
    try:
        if OtherEvent.model_validate(body).action not in _KNOWN:
            return None
        return _EVENT.validate_python(body)
    except ValidationError as error:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                          for e in error.errors()[:5])
        raise _malformed(where) from None


@bp.post("/webhook")
def webhook():
    _authenticate()
    event = _parse()
    if event is None:
        return {"status": "ignored", "reason": "action not handled"}, 200
    rule = ReviewRule.of(current_app.config["SETTINGS"])
    with store().session() as session:
        if isinstance(event, AnnotationsDeleted):
            changed = remove_annotations(session, [ref.id for ref in event.annotations], rule)
            return {"status": "applied", "items_changed": changed}, 200
        ext_id = event.task.data.ext_id
        if not ext_id:
            return {"status": "ignored", "reason": "the task has no ext_id: not made by Deepfake Guard"}, 200
        item, relabeled = apply_annotation(session, ext_id, event.task.id, event.annotation.model_dump(), rule)
        if item is None:
            return {"status": "ignored", "reason": f"no review item {ext_id}"}, 200
        log.info("webhook %s on task %s: %s now %s", event.action, event.task.id, ext_id, item.status)
        return {"status": "applied", "review": {"status": item.status, "label": item.label}}, 200
