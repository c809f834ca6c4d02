"""Heatmaps of where the served model looked: asked for with explain=true or read later for a stored check,
from the served scorer itself (the base score of each map is the face's served score, bit for bit)."""
from __future__ import annotations

import numpy as np
import pytest

from core.explain import GRID
from tests.images import astronaut, coffee, encode


def _post(client, auth, data: bytes, query: str = "") -> dict:
    response = client.post(f"/api/v1/checks{query}", headers=auth, data=data, content_type="image/jpeg")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _assert_heatmap(entry: dict, image_size: tuple[int, int]) -> None:
    heatmap = entry["heatmap"]
    values = np.asarray(heatmap["values"])
    assert heatmap["method"] == "occlusion" and heatmap["size"] == GRID and values.shape == (GRID, GRID)
    assert values.min() >= 0 and values.max() <= 1 and values.max() in (0, 1)   # scaled to its peak
    x, y, width, height = heatmap["region"]
    assert width == height > 0 or entry["index"] is None                        # a face's crop square
    assert x < image_size[0] and y < image_size[1] and x + width > 0 and y + height > 0
    assert 0 <= heatmap["peak_drop"] <= 1


def test_explain_true_adds_heatmaps_whose_base_is_the_served_score(client, auth):
    plain = _post(client, auth, encode(astronaut(), "JPEG", quality=92))
    assert "explanation" not in plain                                   # ordinary checks stay as they were
    answer = _post(client, auth, encode(astronaut(), "JPEG", quality=92), "?explain=true")
    assert answer["cached"]                                             # a cached answer is explained too
    explanation = answer["explanation"]
    assert explanation["scope"] == "faces" and explanation["model_version"] == answer["model_version"]
    assert "not proof" in explanation["legend"] and explanation["elapsed_ms"] > 0
    assert [f["box"] for f in explanation["faces"]] == [f["box"] for f in answer["faces"]]
    for entry, face in zip(explanation["faces"], answer["faces"]):
        assert entry["fake_probability"] == face["fake_probability"]  # the map's own base: the served score
        _assert_heatmap(entry, (answer["image"]["width"], answer["image"]["height"]))
        # the face box lies inside the square the map covers
        x, y, side, _ = entry["heatmap"]["region"]
        bx, by, bw, bh = face["box"]
        assert x <= bx and y <= by and bx + bw <= x + side and by + bh <= y + side


def test_a_stored_check_is_explained_later_per_face(client, auth):
    answer = _post(client, auth, encode(astronaut(), "JPEG", quality=90))
    response = client.get(f"/api/v1/checks/{answer['id']}/explanation?face=0", headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["check_id"] == answer["id"] and len(body["faces"]) == 1 and body["faces"][0]["index"] == 0
    assert body["faces"][0]["fake_probability"] == answer["faces"][0]["fake_probability"]
    again = client.get(f"/api/v1/checks/{answer['id']}/explanation?face=0", headers=auth).get_json()
    assert again["faces"][0]["heatmap"] == body["faces"][0]["heatmap"]   # deterministic


def test_an_image_without_a_face_is_explained_whole(client, auth):
    answer = _post(client, auth, encode(coffee(), "JPEG"), "?explain=true")
    assert answer["scope"] == "no_face"
    (entry,) = answer["explanation"]["faces"]
    assert entry["index"] is None and entry["heatmap"]["region"] == [0, 0, answer["image"]["width"],
                                                                     answer["image"]["height"]]
    _assert_heatmap(entry, (answer["image"]["width"], answer["image"]["height"]))


@pytest.mark.parametrize("query, slug", [("?face=7", "invalid-field"), ("?face=-1", "invalid-field"),
                                         ("?face=x", "invalid-field")])
def test_a_face_that_is_not_there_is_a_clear_error(client, auth, query, slug):
    answer = _post(client, auth, encode(astronaut(), "JPEG", quality=91))
    response = client.get(f"/api/v1/checks/{answer['id']}/explanation{query}", headers=auth)
    assert response.status_code == 422 and response.get_json()["type"].endswith(slug)
    assert "face" in response.get_json()["detail"]


def test_bad_flag_unknown_check_and_a_forgotten_image(client, auth, app):
    response = client.post("/api/v1/checks?explain=maybe", headers=auth, data=encode(astronaut()),
                           content_type="image/jpeg")
    assert response.status_code == 422 and "explain=true" in response.get_json()["detail"]
    response = client.get("/api/v1/checks/no-such-check/explanation", headers=auth)
    assert response.status_code == 404
    answer = _post(client, auth, encode(astronaut(), "JPEG", quality=89))
    store = app.extensions["images"]
    store.blobs.delete(store.key("cache", answer["image"]["sha256"]))      # retention passed
    response = client.get(f"/api/v1/checks/{answer['id']}/explanation", headers=auth)
    assert response.status_code == 409 and response.get_json()["type"].endswith("image-not-kept")
    assert "explain=true" in response.get_json()["detail"]


def test_another_key_cannot_read_the_explanation(app, client, auth):
    answer = _post(client, auth, encode(astronaut(), "JPEG", quality=88))
    response = client.get(f"/api/v1/checks/{answer['id']}/explanation", headers={"Authorization": "Bearer other"})
    assert response.status_code == 401
