"""A check of a video frame: its time and group are kept, shown, and tell reviewers which moment of which page."""
from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import select

from core.store import ReviewItem
from feedback.outbox import current_fields
from server import create_app
from tests.conftest import API_KEY
from tests.images import astronaut, coffee, jpeg

PAGE = "https://video.example.org/watch?v=42"
VIDEO = "https://cdn.example.org/clip.webm"


@pytest.fixture
def database_url(each_database_url):
    """The frames' group is queried: on SQLite and on PostgreSQL."""
    return each_database_url


def _frame(client, auth, image: bytes, **fields):
    form = {"image": (io.BytesIO(image), "frame.png"), "page_url": PAGE, "source_url": VIDEO,
            **{name: str(value) for name, value in fields.items()}}
    return client.post("/api/v1/checks", headers=auth, data=form, content_type="multipart/form-data")


def test_frames_of_one_video_check_are_kept_shown_and_listed_for_reviewers(app, client, auth):
    group = str(uuid.uuid4())
    frames = [_frame(client, auth, jpeg(image), video_time=seconds, video_group=group)
              for image, seconds in ((astronaut(), 83.4), (coffee(), 84.15))]
    assert [response.status_code for response in frames] == [200, 200]
    first, second = (response.get_json() for response in frames)
    assert first["video"] == {"time": 83.4, "group": group} and second["video"] == {"time": 84.15, "group": group}
    assert client.get(f"/api/v1/checks/{first['id']}", headers=auth).get_json()["video"] == first["video"]
    image = client.post("/api/v1/checks", headers=auth, data=jpeg(astronaut(), quality=70), content_type="image/jpeg")
    assert image.get_json()["video"] is None

    disputed = client.post(f"/api/v1/checks/{first['id']}/disputes", headers=auth, json={"label": "fake"})
    assert disputed.status_code == 202
    with app.extensions["store"].session() as session:
        item = session.scalars(select(ReviewItem).where(ReviewItem.check_id == first["id"])).one()
        fields = current_fields(session, item)
    assert fields["why"] == "Disputed: the user says the video frame at 01:23 of video.example.org/watch is FAKE"
    scores = [f"{first['fake_probability']:.2f}", f"{second['fake_probability']:.2f}"]
    assert fields["video"] == (f"Video frame at 01:23; frames checked (time, fake score): "
                               f"01:23.4 {scores[0]} (this one) · 01:24.2 {scores[1]}")
    assert f'href="{VIDEO}#t=83.4"' in fields["page_link"] and "open the video at 01:23" in fields["page_link"]
    assert f"<b>01:23.4 {scores[0]} (this one)</b> · 01:24.2 {scores[1]}" in fields["page_link"]


def test_another_keys_frames_are_not_listed(tmp_path, database_url, auth):
    """The group is the client's word: a second key reusing it does not add frames to the first key's task."""
    second_key = "second-key-0123456789"
    app = create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY, second_key],
                      "database_url": database_url})
    client = app.test_client()
    group = "shared-group"
    mine = _frame(client, auth, jpeg(astronaut()), video_time=5, video_group=group).get_json()
    other = _frame(client, {"Authorization": f"Bearer {second_key}"}, jpeg(coffee()), video_time=6, video_group=group)
    assert other.status_code == 200
    client.post(f"/api/v1/checks/{mine['id']}/disputes", headers=auth, json={"label": "real"})
    with app.extensions["store"].session() as session:
        fields = current_fields(session, session.scalars(select(ReviewItem)).one())
    assert fields["video"] == "Video frame at 00:05"


@pytest.mark.parametrize(("fields", "named"), [
    ({"video_time": "soon"}, "video_time"), ({"video_time": "-1"}, "video_time"), ({"video_time": "nan"}, "video_time"),
    ({"video_group": "g1"}, "video_time"), ({"video_time": "3", "video_group": "a b"}, "video_group"),
    ({"video_time": "3", "video_group": "x" * 65}, "video_group"),
])
def test_a_malformed_video_field_is_a_clear_422(client, auth, fields, named):
    response = _frame(client, auth, jpeg(astronaut()), **fields)
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json" and problem["type"].endswith("/invalid-field")
    assert f"'{named}'" in problem["detail"]
