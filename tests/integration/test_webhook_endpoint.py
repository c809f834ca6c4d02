"""The webhook endpoint: the shared secret is required, malformed bodies are refused and store nothing.

These need no Label Studio: the bodies are shaped like the ones Label Studio 1.23 sends.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.store import ReviewItem
from feedback.labelstudio import WEBHOOK_SECRET_HEADER
from server import create_app
from tests.conftest import API_KEY
from tests.images import astronaut, jpeg

SECRET = "webhook-secret-for-tests"
URL = "/api/v1/labelstudio/webhook"


@pytest.fixture
def database_url(each_database_url):
    """The outcomes land in the store on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
def webhook_app(tmp_path, database_url):
    app = create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY],
                      "label_studio_webhook_secret": SECRET, "database_url": database_url,
                      "review_confident_real": 0.000001})   # one Fake labels the astronaut (scored ~0.03)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {API_KEY}"}
    check = client.post("/api/v1/checks", headers=auth, data=jpeg(astronaut()), content_type="image/jpeg").get_json()
    assert client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, json={"label": "real"}).status_code == 202
    return app, client, f"dfg-{check['image']['sha256']}", check["id"]


def _event(ext_id: str, choice: str = "Fake", annotation_id: int = 7, action: str = "ANNOTATION_CREATED") -> dict:
    return {"action": action, "project": {"id": 1, "title": "Deepfake Guard"},
            "annotation": {"id": annotation_id, "was_cancelled": False, "task": 3, "completed_by": 1,
                           "result": [{"from_name": "label", "to_name": "image", "type": "choices",
                                       "value": {"choices": [choice]}}]},
            "task": {"id": 3, "data": {"image": "/data/upload/1/x.jpg", "ext_id": ext_id}, "is_labeled": True}}


def _state(app) -> tuple:
    with app.extensions["store"].session() as session:
        item = session.scalars(select(ReviewItem)).one()
        return item.label, item.reviewer_count, json.dumps(item.votes, sort_keys=True), item.resolved_at


def _post(client, body, secret: str | None = SECRET, content_type: str = "application/json"):
    headers = {WEBHOOK_SECRET_HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, headers=headers, data=data, content_type=content_type)


def test_a_valid_event_relabels(webhook_app):
    app, client, ext_id, check_id = webhook_app
    response = _post(client, _event(ext_id))
    assert response.status_code == 200 and response.get_json()["review"] == {"status": "relabeled", "label": "fake"}
    shown = client.get(f"/api/v1/checks/{check_id}", headers={"Authorization": f"Bearer {API_KEY}"}).get_json()
    assert shown["review"]["label"] == "fake" and shown["review"]["reviewers"] == 1
    deleted = _post(client, {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 7}], "project": {"id": 1}})
    assert deleted.status_code == 200 and deleted.get_json()["items_changed"] == 1
    assert _state(app)[:2] == (None, 0)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_without_the_right_secret_401_and_nothing_stored(webhook_app, secret):
    app, client, ext_id, _ = webhook_app
    before = _state(app)
    response = _post(client, _event(ext_id), secret=secret)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert WEBHOOK_SECRET_HEADER in response.get_json()["detail"]
    assert _state(app) == before


def test_without_a_configured_secret_every_call_is_refused(tmp_path):
    client = create_app({"instance_dir": tmp_path, "api_keys": [API_KEY]}).test_client()
    for secret in (None, "anything"):
        response = _post(client, {"action": "ANNOTATION_CREATED"}, secret=secret)
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
        assert "DFG_LABEL_STUDIO_WEBHOOK_SECRET" in response.get_json()["detail"]


MALFORMED = [
    ("not json at all", "application/json", 422),
    ("action=ANNOTATION_CREATED", "application/x-www-form-urlencoded", 415),
    ([1, 2, 3], "application/json", 422),
    ({}, "application/json", 422),
    ({"action": 5}, "application/json", 422),
    ({"action": "ANNOTATION_CREATED"}, "application/json", 422),
    ("EVENT:without_annotation_id", "application/json", 422),
    ("EVENT:ext_id_not_a_string", "application/json", 422),
    ("EVENT:result_not_a_list", "application/json", 422),
    ("EVENT:task_without_data", "application/json", 422),
    ({"action": "ANNOTATIONS_DELETED", "annotations": "7"}, "application/json", 422),
    ({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": "seven"}]}, "application/json", 422),
]


def _broken(kind: str, ext_id: str) -> dict:
    event = _event(ext_id)
    if kind == "without_annotation_id":
        del event["annotation"]["id"]
    elif kind == "ext_id_not_a_string":
        event["task"]["data"]["ext_id"] = 12345
    elif kind == "result_not_a_list":
        event["annotation"]["result"] = {"choices": ["Fake"]}
    elif kind == "task_without_data":
        del event["task"]["data"]
    return event


@pytest.mark.parametrize("body, content_type, status", MALFORMED)
def test_malformed_bodies_are_4xx_and_store_nothing(webhook_app, body, content_type, status):
    app, client, ext_id, _ = webhook_app
    if isinstance(body, str) and body.startswith("EVENT:"):
        body = _broken(body.split(":", 1)[1], ext_id)
    before = _state(app)
    response = _post(client, body, content_type=content_type)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]
    assert _state(app) == before


def test_events_that_are_not_ours_are_ignored(webhook_app):
    app, client, ext_id, _ = webhook_app
    before = _state(app)
    for body in (_event("dfg-" + "0" * 64), {"action": "TASKS_CREATED", "tasks": []},
                 {**_event(ext_id), "task": {"id": 3, "data": {"image": "x"}}}):
        response = _post(client, body)
        assert response.status_code == 200 and response.get_json()["status"] == "ignored"
    assert _state(app) == before
