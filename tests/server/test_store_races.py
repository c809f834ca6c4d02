"""Races for a unique row: a request that loses one runs again and updates the winner's row (no 500).

A concurrent request is made to commit its row exactly between this request's lookup and its
insert (a `before_flush` hook), so the race happens every time, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core.store import Check, Dispute, ReviewItem
from server import create_app
from server.review import record_dispute
from tests.conftest import API_KEY, forced_model
from tests.images import astronaut, jpeg


@pytest.fixture
def database_url(each_database_url):
    return each_database_url


@pytest.fixture
def competitor():
    """`competitor(kind, commit)`: run `commit()` once, just before the first flush that adds a `kind` row."""
    armed: list = []

    def before_flush(session, _context, _instances):
        if armed and any(isinstance(row, armed[0][0]) for row in session.new):
            _kind, commit = armed.pop()
            commit()

    event.listen(Session, "before_flush", before_flush)
    yield lambda kind, commit: armed.append((kind, commit))
    event.remove(Session, "before_flush", before_flush)


def _count(store, table) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_a_dispute_that_loses_the_race_for_its_row_updates_the_winner(app, client, auth, competitor):
    store = app.extensions["store"]
    check_id = client.post("/api/v1/checks", headers=auth, data=jpeg(astronaut()),
                           content_type="image/jpeg").get_json()["id"]

    def other_request_commits_first():  # the same key's earlier click, stored while this one looked
        with store.session() as other:
            check = other.get(Check, check_id)
            record_dispute(other, check, check.client, "fake", "first click")

    competitor(Dispute, other_request_commits_first)
    response = client.post(f"/api/v1/checks/{check_id}/disputes", headers=auth,
                           json={"label": "real", "comment": "second click"})
    assert response.status_code == 202, response.get_json()
    assert _count(store, Dispute) == 1 and _count(store, ReviewItem) == 1
    shown = client.get(f"/api/v1/checks/{check_id}", headers=auth).get_json()["dispute"]
    assert (shown["label"], shown["comment"]) == ("real", "second click")


def test_two_uncertain_checks_of_one_image_share_one_review_item(tmp_path, database_url, competitor):
    if database_url.startswith("sqlite"):
        pytest.skip("on SQLite this race cannot happen: the check's own insert comes first and holds the "
                    "database's one write lock until the review item is committed")
    app = create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY], "database_url": database_url,
                      "model_dir": forced_model(tmp_path, band=(0.0, 1.0)), "result_cache_size": 0})
    store, client, auth = app.extensions["store"], app.test_client(), {"Authorization": f"Bearer {API_KEY}"}
    data = jpeg(astronaut())
    first = client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg").get_json()
    assert first["verdict"] == "uncertain"
    with store.session() as session:  # an empty queue again, as before the first check
        session.query(ReviewItem).delete()

    def other_check_queues_the_image():
        with store.session() as other:
            earlier = other.get(Check, first["id"])
            other.add(ReviewItem(image_sha256=earlier.sha256, ext_id=f"dfg-{earlier.sha256}", check_id=earlier.id,
                                 reason="uncertain"))

    competitor(ReviewItem, other_check_queues_the_image)
    second = client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg")
    assert second.status_code == 200, second.get_json()
    assert _count(store, ReviewItem) == 1
    assert client.get(f"/api/v1/checks/{second.get_json()['id']}", headers=auth).status_code == 200


def test_a_race_that_keeps_failing_is_not_retried_forever(app):
    """Only IntegrityError is retried, three attempts at most; then it surfaces."""
    from sqlalchemy.exc import IntegrityError

    store, attempts = app.extensions["store"], []

    def always_conflicts(session):
        attempts.append(1)
        key = str(uuid.uuid4())
        session.add(Check(id=key, client="c", sha256="0" * 64, width=1, height=1, format="JPEG", verdict="real",
                          fake_probability=0.0, faces=[], scope="no_face", model_version="m", elapsed_ms=1.0))
        session.flush()
        session.add(Dispute(id=str(uuid.uuid4()), check_id=key, client="c", label="real"))
        session.add(Dispute(id=str(uuid.uuid4()), check_id=key, client="c", label="fake"))
        session.flush()

    with pytest.raises(IntegrityError):
        store.run(always_conflicts)
    assert len(attempts) == 3 and _count(store, Check) == 0
