"""The HTTP contract of ARCHITECTURE.md: fields, types, and the read-back of a check."""
from __future__ import annotations

import io
import re

from tests.images import astronaut, coffee, jpeg

VERDICTS = {"fake", "real", "uncertain"}


def _assert_check_shape(body: dict) -> None:
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])
    assert body["verdict"] in VERDICTS
    assert isinstance(body["fake_probability"], float) and 0.0 <= body["fake_probability"] <= 1.0
    assert body["scope"] in {"faces", "no_face"}
    assert isinstance(body["model_version"], str) and body["model_version"]
    assert isinstance(body["cached"], bool)
    assert isinstance(body["elapsed_ms"], (int, float)) and body["elapsed_ms"] >= 0
    image = body["image"]
    assert re.fullmatch(r"[0-9a-f]{64}", image["sha256"])
    assert isinstance(image["width"], int) and isinstance(image["height"], int)
    for face in body["faces"]:
        assert len(face["box"]) == 4 and all(isinstance(v, int) and v >= 0 for v in face["box"])
        assert 0.0 <= face["fake_probability"] <= 1.0


def test_multipart_check_of_a_face(client, auth):
    data = jpeg(astronaut())
    response = client.post("/api/v1/checks", headers=auth, content_type="multipart/form-data",
                           data={"image": (io.BytesIO(data), "astronaut.jpg"), "page_url": "https://example.org/a"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    _assert_check_shape(body)
    assert body["scope"] == "faces" and len(body["faces"]) == 1
    assert body["fake_probability"] == max(face["fake_probability"] for face in body["faces"])
    assert body["image"] == {"sha256": __import__("hashlib").sha256(data).hexdigest(), "width": 512,
                             "height": 512, "format": "jpeg"}
    assert body["page_url"] == "https://example.org/a"


def test_raw_body_check_without_a_face_scores_the_whole_image(client, auth):
    response = client.post("/api/v1/checks?source_url=https://example.org/c.png", headers=auth,
                           data=jpeg(coffee()), content_type="image/jpeg")
    assert response.status_code == 200
    body = response.get_json()
    _assert_check_shape(body)
    assert body["scope"] == "no_face" and body["faces"] == []
    assert "trained on face" in body["note"]
    assert body["source_url"] == "https://example.org/c.png"


def test_declared_type_is_ignored_format_comes_from_bytes(client, auth):
    response = client.post("/api/v1/checks", headers=auth, data=jpeg(coffee()), content_type="image/png")
    assert response.status_code == 200
    assert response.get_json()["image"]["format"] == "jpeg"


def test_check_is_stored_and_read_back(client, auth):
    created = client.post("/api/v1/checks", headers=auth, data=jpeg(astronaut()), content_type="image/jpeg").get_json()
    read = client.get(f"/api/v1/checks/{created['id']}", headers=auth)
    assert read.status_code == 200
    body = read.get_json()
    for field in ("id", "verdict", "fake_probability", "faces", "scope", "model_version", "image"):
        assert body[field] == created[field]


def test_unknown_check_is_a_404_problem(client, auth):
    response = client.get("/api/v1/checks/00000000-0000-0000-0000-000000000000", headers=auth)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_a_check_is_private_to_the_key_that_made_it(tmp_path):
    from server import create_app

    app = create_app({"instance_dir": tmp_path, "api_keys": ["key-one", "key-two"]})
    client = app.test_client()
    created = client.post("/api/v1/checks", headers={"Authorization": "Bearer key-one"},
                          data=jpeg(coffee()), content_type="image/jpeg").get_json()
    other = client.get(f"/api/v1/checks/{created['id']}", headers={"Authorization": "Bearer key-two"})
    assert other.status_code == 404


def test_model_endpoint(client, auth):
    body = client.get("/api/v1/model", headers=auth).get_json()
    low, high = body["uncertain_band"]
    assert 0.0 <= low <= body["threshold"] <= high <= 1.0
    assert body["input_size"] == 256 and body["version"]


def test_health_ready_and_openapi(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["model_version"]
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/checks", "/api/v1/checks/{check_id}", "/api/v1/model"} <= set(spec["paths"])


def test_unknown_route_is_problem_json_not_html(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert b"<html" not in response.data.lower()
