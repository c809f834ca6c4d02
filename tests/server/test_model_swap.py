"""The server follows the registry's champion without a restart and without failing requests."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from core.registry import Registry
from server import create_app
from tests.conftest import API_KEY
from tests.images import astronaut, endless_face_jpegs, jpeg
from tests.model_versions import register_copy, register_corrupt

AUTH = {"Authorization": f"Bearer {API_KEY}"}
SWAP_TIMEOUT_S = 30


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


@pytest.fixture
def registry(instance):
    return Registry.for_instance(instance)


def _app(instance, **settings):
    return create_app({"instance_dir": instance, "api_keys": [API_KEY], **settings})


def _check(client, data) -> dict:
    response = client.post("/api/v1/checks", headers=AUTH, data=data, content_type="image/jpeg")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_empty_registry_serves_the_shipped_model_then_a_promoted_one(instance, registry, tmp_path):
    client = _app(instance).test_client()
    shipped = client.get("/api/v1/model", headers=AUTH).get_json()
    assert shipped["source"] == "default"
    register_copy(registry, "v2", tmp_path)
    registry.promote("v2")
    model = client.get("/api/v1/model", headers=AUTH).get_json()
    assert (model["version"], model["source"]) == ("v2", "registry")
    assert client.get("/readyz").get_json()["model_version"] == "v2"


def test_request_in_flight_keeps_the_detector_it_took(instance, registry, tmp_path):
    register_copy(registry, "old", tmp_path)
    registry.promote("old")
    app = _app(instance)
    holder = app.extensions["model_holder"]
    taken = holder.current()
    register_copy(registry, "new", tmp_path)
    registry.promote("new")
    assert holder.current().model.version == "new"
    # The request that took the old detector still finishes on it, and says so.
    from core.intake import decode_image
    assessment = taken.check(decode_image(jpeg(astronaut()), 50_000_000))
    assert assessment.model_version == "old"


def test_swaps_under_load_fail_no_request_and_checks_keep_their_version(instance, registry, tmp_path):
    for version in ("v1", "v2", "v3"):
        register_copy(registry, version, tmp_path)
    registry.promote("v1")
    app = _app(instance)
    results, failures, stop = [], [], threading.Event()

    def hammer(worker: int):
        client = app.test_client()
        images = endless_face_jpegs(worker)
        while not stop.is_set():
            try:
                results.append(_check(client, next(images)))
            except AssertionError as error:
                failures.append(str(error))

    threads = [threading.Thread(target=hammer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()

    def served(version: str) -> None:
        """Wait until requests are answered by `version`, then let a few more run."""
        deadline = time.monotonic() + SWAP_TIMEOUT_S
        while not any(r["model_version"] == version for r in results[-4:]):
            assert time.monotonic() < deadline and not failures, f"{version} never answered"
            time.sleep(0.02)
        count = len(results)
        while len(results) < count + 4 and not failures:
            time.sleep(0.02)

    for version in ("v2", "v3"):
        registry.promote(version)
        served(version)
    registry.rollback()
    served("v2")
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    versions = {result["model_version"] for result in results}
    assert versions == {"v1", "v2", "v3"}, versions
    # Each stored check keeps the version that answered it.
    client = app.test_client()
    for result in results[:3] + results[-3:]:
        stored = client.get(f"/api/v1/checks/{result['id']}", headers=AUTH).get_json()
        assert stored["model_version"] == result["model_version"]
    assert client.get("/api/v1/model", headers=AUTH).get_json()["version"] == "v2"  # after the rollback


def test_corrupt_champion_is_refused_and_the_old_model_keeps_serving(instance, registry, tmp_path, caplog):
    register_copy(registry, "good", tmp_path)
    register_corrupt(registry, "broken", tmp_path)
    registry.promote("good")
    client = _app(instance).test_client()
    assert _check(client, jpeg(astronaut()))["model_version"] == "good"
    registry.promote("broken")  # its hashes match, but the runtime file is garbage
    with caplog.at_level(logging.ERROR, logger="server.champion"):
        assert _check(client, jpeg(astronaut()))["model_version"] == "good"
    assert any("refusing new champion" in r.getMessage() and "still serving good" in r.getMessage()
               for r in caplog.records)
    assert client.get("/api/v1/model", headers=AUTH).get_json()["version"] == "good"


def test_probe_mismatch_is_refused(instance, registry, tmp_path):
    register_copy(registry, "good", tmp_path)
    register_copy(registry, "lying", tmp_path, probe={"fake_probability": [0.123, 0.456]})
    registry.promote("good")
    client = _app(instance).test_client()
    registry.promote("lying")
    assert client.get("/api/v1/model", headers=AUTH).get_json()["version"] == "good"


def test_start_up_with_a_broken_champion_serves_the_previous_one(instance, registry, tmp_path):
    register_copy(registry, "good", tmp_path)
    register_corrupt(registry, "broken", tmp_path)
    registry.promote("good")
    registry.promote("broken")
    assert _app(instance).test_client().get("/api/v1/model", headers=AUTH).get_json()["version"] == "good"


def test_model_dir_pins_a_folder(instance, registry, tmp_path):
    from tests.model_versions import model_copy

    pinned = model_copy(tmp_path / "pinned", "pinned")
    register_copy(registry, "champion", tmp_path)
    registry.promote("champion")
    client = _app(instance, model_dir=pinned).test_client()
    body = client.get("/api/v1/model", headers=AUTH).get_json()
    assert (body["version"], body["source"]) == ("pinned", "pinned")
