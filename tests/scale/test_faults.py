"""What a server does when the object store or Redis is down: checks are answered, nothing accepted is lost,
/readyz names what is degraded. "Down" is the real client meeting a closed port; "back" is the real Swift."""
from __future__ import annotations

import io
import time

from sqlalchemy import func, select

from core.store import Dispute, ReviewItem
from server import create_app
from tests.conftest import API_KEY, forced_model
from tests.images import astronaut, coffee, jpeg
from tests.scale_services import S3_CREDENTIALS, closed_port_url, s3_bucket

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _count(app, table) -> int:
    with app.extensions["store"].session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_with_the_object_store_down_checks_are_answered_and_disputes_wait(tmp_path, monkeypatch):
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY], "blob_url": "s3://dfg-down/p",
                      "s3_endpoint_url": closed_port_url(), "blob_timeout_seconds": 0.5,
                      "model_dir": forced_model(tmp_path, band=(0.0, 1.0))})     # every verdict uncertain
    client = app.test_client()
    started = time.monotonic()
    check = client.post("/api/v1/checks", headers=AUTH, data=jpeg(astronaut()), content_type="image/jpeg")
    assert check.status_code == 200 and check.get_json()["verdict"] == "uncertain"
    assert time.monotonic() - started < 10
    assert _count(app, ReviewItem) == 0            # no review item for an image that could not be kept

    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
    assert "dfg-down" in ready.get_json()["degraded"]["blob_store"]

    check_id = check.get_json()["id"]
    for response in (client.post(f"/api/v1/checks/{check_id}/disputes", headers=AUTH, json={"label": "fake"}),
                     client.get(f"/api/v1/checks/{check_id}/explanation", headers=AUTH)):
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert response.content_type == "application/problem+json"
        assert response.get_json()["type"].endswith("/blob-store-unavailable")
        assert "Send the same request again" in response.get_json()["detail"]
    assert _count(app, Dispute) == 0 and _count(app, ReviewItem) == 0


def test_a_dispute_of_an_image_the_store_never_got_asks_for_the_image_and_keeps_it(tmp_path, monkeypatch):
    with s3_bucket() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY]})
        client = app.test_client()
        data = jpeg(coffee())
        check = client.post("/api/v1/checks", headers=AUTH, data=data, content_type="image/jpeg").get_json()
        images = app.extensions["images"]
        images.flush()
        images.blobs.delete(images.key("cache", check["image"]["sha256"]))   # the cache write was lost
        asked = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=AUTH, json={"label": "fake"})
        assert asked.status_code == 409 and asked.get_json()["type"].endswith("/image-not-kept")
        sent = client.post(f"/api/v1/checks/{check['id']}/disputes", headers=AUTH, content_type="multipart/form-data",
                           data={"label": "fake", "image": (io.BytesIO(data), "photo.jpg")})
        assert sent.status_code == 202
        assert images.blobs.get(images.key("kept", check["image"]["sha256"])) == data
        assert client.get("/readyz").get_json() == {"status": "ready", "model_version": check["model_version"]}


def test_with_redis_down_limits_fall_back_to_each_process_and_checks_are_answered(tmp_path):
    app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY], "rate_limit_per_key": "5/minute",
                      "rate_limit_storage_url": closed_port_url("redis")})
    client = app.test_client()
    started = time.monotonic()
    statuses = [client.get("/api/v1/model", headers=AUTH).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2            # still a limit: counted in this process
    assert time.monotonic() - started < 15
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "degraded" and "rate-limit store" in ready["degraded"]["rate_limits"]
    check = client.post("/api/v1/checks", headers=AUTH, data=jpeg(coffee()), content_type="image/jpeg")
    assert check.status_code in (200, 429)


def test_a_host_that_cannot_fetch_the_champion_serves_what_it_has_and_readyz_says_so(tmp_path, monkeypatch):
    from core.settings import Settings
    from core.shared_models import file_key, open_registry
    from tests.model_versions import register_copy

    with s3_bucket() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        database_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        publisher = open_registry(Settings(instance_dir=tmp_path / "publisher", database_url=database_url))
        register_copy(publisher, "unfetchable-v1", tmp_path)
        publisher.promote("unfetchable-v1")
        publisher.blobs.delete(file_key(publisher.metadata("unfetchable-v1")["files"]["model.onnx"]))
        app = create_app({"instance_dir": tmp_path / "host", "api_keys": [API_KEY], "database_url": database_url})
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
        degraded = ready.get_json()["degraded"]["model"]
        assert "the champion is unfetchable-v1" in degraded and "missing" in degraded
        assert ready.get_json()["model_version"] != "unfetchable-v1"     # the shipped default still answers
        check = app.test_client().post("/api/v1/checks", headers=AUTH, data=jpeg(coffee()), content_type="image/jpeg")
        assert check.status_code == 200
        app.extensions["images"].flush()
