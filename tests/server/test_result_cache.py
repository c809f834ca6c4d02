"""The result cache: the same bytes again are answered from the store, as a new check, per model version.

Every test runs on SQLite and on PostgreSQL (the cache's insert-or-ignore differs between them).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.store import CachedCheck, Check, ResultCacheEntry
from server import create_app
from tests.conftest import API_KEY, forced_model
from tests.images import astronaut, coffee, jpeg

RESULT_FIELDS = ("verdict", "fake_probability", "faces", "scope", "model_version", "image")


@pytest.fixture
def database_url(each_database_url):
    return each_database_url


def _app(instance, database_url: str, **settings):
    """One worker on the given instance folder and store; several of them share both."""
    return create_app({"instance_dir": instance, "api_keys": [API_KEY], "database_url": database_url, **settings})


def _check(client, auth, data: bytes) -> dict:
    response = client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _count(app, table) -> int:
    with app.extensions["store"].session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_a_repeated_image_is_answered_from_the_cache_as_a_new_check(app, client, auth):
    data = jpeg(astronaut())
    first = _check(client, auth, data)
    second = _check(client, auth, data)
    assert first["cached"] is False and second["cached"] is True
    assert second["id"] != first["id"]
    assert {k: second[k] for k in RESULT_FIELDS} == {k: first[k] for k in RESULT_FIELDS}
    assert _count(app, Check) == 2 and _count(app, ResultCacheEntry) == 1
    # Read back, each check says how it was answered; the cached one names the scored one.
    assert client.get(f"/api/v1/checks/{first['id']}", headers=auth).get_json()["cached"] is False
    assert client.get(f"/api/v1/checks/{second['id']}", headers=auth).get_json()["cached"] is True
    with app.extensions["store"].session() as session:
        assert session.get(CachedCheck, second["id"]).source_check_id == first["id"]


def test_a_cached_check_can_be_disputed_on_its_own(client, auth):
    data = jpeg(astronaut())
    _check(client, auth, data)
    cached = _check(client, auth, data)
    response = client.post(f"/api/v1/checks/{cached['id']}/disputes", headers=auth, json={"label": "real"})
    assert response.status_code == 202
    shown = client.get(f"/api/v1/checks/{cached['id']}", headers=auth).get_json()
    assert shown["dispute"]["label"] == "real" and shown["review"]["status"] == "queued"


def test_other_bytes_of_the_same_picture_are_scored_again(client, auth):
    picture = astronaut()
    _check(client, auth, jpeg(picture, quality=90))
    assert _check(client, auth, jpeg(picture, quality=91))["cached"] is False


def test_another_model_version_misses_and_both_versions_keep_their_answer(tmp_path, auth, database_url):
    instance = tmp_path / "instance"  # one store, as gunicorn workers share it
    default = _app(instance, database_url).test_client()
    always_fake = forced_model(tmp_path, band=(0.0, 0.0), threshold=0.0, version="challenger-2")
    other = _app(instance, database_url, model_dir=always_fake).test_client()
    data = jpeg(coffee())
    first = _check(default, auth, data)
    swapped = _check(other, auth, data)
    assert swapped["cached"] is False and swapped["model_version"] == "challenger-2"
    assert swapped["verdict"] == "fake" != first["verdict"]
    again = _check(other, auth, data)
    assert again["cached"] is True and again["model_version"] == "challenger-2" and again["verdict"] == "fake"
    back = _check(default, auth, data)
    assert back["cached"] is True and back["verdict"] == first["verdict"]


def test_workers_share_the_cache_through_the_store(tmp_path, auth, database_url):
    instance = tmp_path / "instance"
    one, two = (_app(instance, database_url).test_client() for _ in range(2))
    data = jpeg(astronaut())
    scored = _check(one, auth, data)
    shared = _check(two, auth, data)
    assert shared["cached"] is True and shared["fake_probability"] == scored["fake_probability"]


def test_a_changed_detector_setting_misses(tmp_path, auth, database_url):
    instance = tmp_path / "instance"
    data = jpeg(astronaut())
    _check(_app(instance, database_url).test_client(), auth, data)
    stricter = _app(instance, database_url, face_min_score=0.6).test_client()
    assert _check(stricter, auth, data)["cached"] is False


def test_the_cache_is_bounded_and_drops_the_oldest(tmp_path, auth, database_url):
    app = _app(tmp_path / "instance", database_url, result_cache_size=3)
    client = app.test_client()
    images = [jpeg(coffee(), quality=q) for q in (70, 75, 80, 85, 90)]
    for data in images:
        _check(client, auth, data)
    assert _count(app, ResultCacheEntry) == 3
    assert _check(client, auth, images[-1])["cached"] is True
    assert _check(client, auth, images[0])["cached"] is False  # evicted, scored again


def test_size_zero_turns_the_cache_off(tmp_path, auth, database_url):
    app = _app(tmp_path / "instance", database_url, result_cache_size=0)
    client = app.test_client()
    data = jpeg(astronaut())
    _check(client, auth, data)
    assert _check(client, auth, data)["cached"] is False
    assert _count(app, ResultCacheEntry) == 0
