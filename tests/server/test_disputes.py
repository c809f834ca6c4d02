"""Disputes are stored durably with their image; uncertain checks are queued too, within a daily cap."""
from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from core.store import Dispute, ReviewItem
from server import create_app
from tests.conftest import API_KEY, forced_model
from tests.images import astronaut, coffee, jpeg


@pytest.fixture
def database_url(each_database_url):
    """Every store test here runs on SQLite and on PostgreSQL."""
    return each_database_url


def _check(client, auth, data):
    response = client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg")
    assert response.status_code == 200
    return response.get_json()


def _review_items(app) -> list[ReviewItem]:
    with app.extensions["store"].session() as session:
        return list(session.scalars(select(ReviewItem)))


def test_dispute_is_accepted_stored_and_shown(app, client, auth):
    data = jpeg(astronaut())
    check = _check(client, auth, data)
    response = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth,
                           json={"label": "real", "comment": "my own photo"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["id"]
    shown = client.get(f"/api/v1/checks/{check['id']}", headers=auth).get_json()
    assert shown["dispute"]["id"] == body["id"] and shown["dispute"]["label"] == "real"
    assert shown["dispute"]["comment"] == "my own photo"
    assert shown["review"]["status"] == "queued" and shown["review"]["label"] is None
    # The exact bytes are kept for reviewers, content-addressed.
    images = app.extensions["images"]
    kept = images.blobs.path(images.key("kept", check["image"]["sha256"]))
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    [item] = _review_items(app)
    assert item.reason == "disputed" and item.check_id == check["id"] and item.push_state == "pending"


def test_repeated_dispute_is_the_same_dispute(app, client, auth):
    check = _check(client, auth, jpeg(coffee()))
    first = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, json={"label": "fake"}).get_json()
    second = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth,
                         json={"label": "real", "comment": "changed my mind"}).get_json()
    assert first["id"] == second["id"]
    assert len(_review_items(app)) == 1
    shown = client.get(f"/api/v1/checks/{check['id']}", headers=auth).get_json()
    assert shown["dispute"]["label"] == "real"


def test_unknown_check_is_404(client, auth):
    response = client.post("/api/v1/checks/not-a-check/disputes", headers=auth, json={"label": "real"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("body, content_type, status, words", [
    ({"label": "maybe"}, "application/json", 422, "label"),
    ({}, "application/json", 422, "label"),
    ({"label": "real", "extra": 1}, "application/json", 422, "extra"),
    ({"label": "real", "comment": "x" * 2001}, "application/json", 422, "comment"),
    ("label=real", "text/plain", 415, "JSON"),
    ("[1, 2]", "application/json", 422, "JSON object"),
])
def test_invalid_disputes_say_what_is_wrong(app, client, auth, body, content_type, status, words):
    check = _check(client, auth, jpeg(coffee()))
    kwargs = {"json": body} if isinstance(body, dict) else {"data": body, "content_type": content_type}
    response = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert words in response.get_json()["detail"]
    with app.extensions["store"].session() as session:
        assert session.scalars(select(Dispute)).first() is None
    assert all(item.reason != "disputed" for item in _review_items(app))


def test_without_retention_the_dispute_must_carry_the_image(tmp_path, auth, database_url):
    never_uncertain = forced_model(tmp_path, band=(0.5, 0.5))  # nothing is kept at check time
    app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY], "image_retention_hours": 0,
                      "model_dir": never_uncertain, "database_url": database_url})
    client = app.test_client()
    data = jpeg(coffee())
    check = _check(client, auth, data)
    refused = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, json={"label": "real"})
    assert refused.status_code == 409 and "'image'" in refused.get_json()["detail"]
    wrong = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, content_type="multipart/form-data",
                        data={"label": "real", "image": (io.BytesIO(jpeg(astronaut())), "x.jpg")})
    assert wrong.status_code == 422 and "sha256" in wrong.get_json()["detail"]
    accepted = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, content_type="multipart/form-data",
                           data={"label": "real", "image": (io.BytesIO(data), "c.jpg")})
    assert accepted.status_code == 202
    assert not any(app.extensions["images"].blobs.listing("images/cache"))  # nothing cached without retention


def test_uncertain_checks_are_queued_within_the_daily_cap(tmp_path, auth, database_url):
    model = forced_model(tmp_path, band=(0.0, 1.0))  # every verdict is uncertain
    app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY], "model_dir": model,
                      "review_uncertain_per_day": 2, "database_url": database_url})
    client = app.test_client()
    photos = [jpeg(coffee(), quality=q) for q in (80, 85, 90)]
    first = _check(client, auth, photos[0])
    assert first["verdict"] == "uncertain"
    _check(client, auth, photos[0])  # the same picture again: still one review item
    for data in photos[1:]:
        _check(client, auth, data)
    items = _review_items(app)
    assert len(items) == 2 and {item.reason for item in items} == {"uncertain"}
    assert client.get(f"/api/v1/checks/{first['id']}", headers=auth).get_json()["review"]["status"] == "queued"
    for item in items:  # their images are kept for reviewers
        assert app.extensions["images"].read(item.image_sha256) is not None


def test_dispute_of_a_queued_uncertain_check_turns_it_into_a_dispute(tmp_path, auth, database_url):
    app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY],
                      "model_dir": forced_model(tmp_path, band=(0.0, 1.0)), "database_url": database_url})
    client = app.test_client()
    check = _check(client, auth, jpeg(coffee()))
    client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth, json={"label": "fake"})
    [item] = _review_items(app)
    assert item.reason == "disputed"


def test_cache_prune_removes_old_and_excess_images(tmp_path):
    import os
    import time

    from core.blobs import FolderBlobs
    from core.images import ImageStore

    store = ImageStore(FolderBlobs(tmp_path), retention_hours=1, max_cache_bytes=250, auto_prune=False)
    digests = []
    for index in range(4):
        data = bytes([index]) * 100
        digest = hashlib.sha256(data).hexdigest()
        store.remember(digest, data)
        digests.append(digest)
    old = store.blobs.path(store.key("cache", digests[0]))
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    store.keep(digests[1])
    assert store.prune() == 2  # the expired one, then the oldest until under 250 bytes
    remaining = {item.key.rsplit("/", 1)[1] for item in store.blobs.listing("images/cache")}
    assert digests[0] not in remaining and len(remaining) == 2
    assert store.read(digests[1]) is not None  # kept for review survives any prune
