"""Two `serve` instances as two hosts: own instance folders and ports, one PostgreSQL, one Redis, one S3 store
(Swift), one Label Studio. Nothing is shared through the file system."""
from __future__ import annotations

import hashlib
import os
import threading
import time

import numpy as np
import pytest
import requests
from PIL import Image

from core.settings import Settings
from core.shared_models import open_registry
from tests.databases import database
from tests.e2e.servers import start_server
from tests.images import astronaut, distinct_face_jpegs, jpeg
from tests.integration.services import run_cli
from tests.model_versions import register_copy
from tests.scale_services import redis_url, s3_bucket, s3_client

KEY = "two-hosts-key-0123456789abcdef"
LIMITED_KEY = "two-hosts-limited-0123456789ab"
BURST_KEY = "two-hosts-burst-0123456789abcd"
IN_FLIGHT_CAP = 2            # DFG_MAX_IN_FLIGHT_PER_KEY on each host
PER_KEY_LIMIT = 200       # calls a minute per key; the limit test spends it for LIMITED_KEY
MODEL_POLL_SECONDS = 1
SWITCH_BOUND_S = 15          # a promote on one host is served by the other within this


def _auth(key: str = KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _check(server, data: bytes) -> dict:
    response = requests.post(f"{server.url}/api/v1/checks", data=data, timeout=30,
                             headers={**_auth(), "Content-Type": "image/jpeg"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_two_hosts_share_checks_images_models_limits_and_survive_one_dying(ls, tmp_path, figures, monkeypatch):
    with database("postgresql", tmp_path) as database_url, s3_bucket() as s3:
        for name, value in s3.items():
            monkeypatch.setenv(name, value)
        title = f"DFG two hosts {time.time_ns() % 10**8}"
        labelstudio = {"DFG_LABEL_STUDIO_URL": ls.url, "DFG_LABEL_STUDIO_API_KEY": ls.token,
                       "DFG_LABEL_STUDIO_PROJECT": title, "DFG_REVIEW_CONFIDENT_REAL": "0.000001"}
        shared = dict(database_url=database_url, rate_limit_storage_url=redis_url(),
                      rate_limit_per_key=f"{PER_KEY_LIMIT}/minute", model_poll_seconds=str(MODEL_POLL_SECONDS),
                      api_keys=f"{KEY},{LIMITED_KEY},{BURST_KEY}",
                      max_in_flight_per_key=str(IN_FLIGHT_CAP))
        a = start_server(tmp_path / "a", KEY, env_extra={**s3, **labelstudio}, **shared)
        b = start_server(tmp_path / "b", KEY, env_extra={**s3, **labelstudio}, **shared)
        try:
            b_env = {**os.environ, **s3, **labelstudio, "DFG_INSTANCE_DIR": str(b.instance_dir),
                     "DFG_DATABASE_URL": database_url}
            _a_check_made_on_a_is_read_explained_disputed_and_reviewed_through_b(a, b, s3, b_env, figures)
            _a_model_promoted_on_a_is_served_by_b(a, b, database_url, tmp_path, figures)
            _the_per_key_limit_is_counted_across_both(a, b, figures)
            _the_in_flight_cap_holds_per_host(a, b, figures)
            _b_keeps_answering_when_a_dies_and_no_accepted_dispute_is_lost(a, b, figures)
        finally:
            a.stop()
            b.stop()


def _a_check_made_on_a_is_read_explained_disputed_and_reviewed_through_b(a, b, s3, env, figures) -> None:
    data = jpeg(astronaut())
    check = _check(a, data)
    sha256 = check["image"]["sha256"]
    bucket, prefix = s3["DFG_BLOB_URL"].removeprefix("s3://").split("/", 1)
    objects = s3_client(s3["DFG_S3_ENDPOINT_URL"])
    deadline = time.monotonic() + 10
    while "Contents" not in objects.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/images/cache/{sha256[:2]}/"):
        assert time.monotonic() < deadline, "A did not write the checked image to the object store"
        time.sleep(0.05)

    seen = requests.get(f"{b.url}/api/v1/checks/{check['id']}", headers=_auth(), timeout=10).json()
    assert (seen["id"], seen["verdict"], seen["image"]["sha256"]) == (check["id"], check["verdict"], sha256)
    explained = requests.get(f"{b.url}/api/v1/checks/{check['id']}/explanation", headers=_auth(), timeout=30)
    assert explained.status_code == 200, explained.text
    assert len(explained.json()["faces"]) == len(check["faces"]) >= 1
    disputed = requests.post(f"{b.url}/api/v1/checks/{check['id']}/disputes", headers=_auth(), timeout=10,
                             json={"label": "fake", "comment": "seen on two hosts"})
    assert disputed.status_code == 202, disputed.text
    kept = objects.get_object(Bucket=bucket, Key=f"{prefix}/images/kept/{sha256[:2]}/{sha256}")["Body"].read()
    assert kept == data
    assert not (b.instance_dir / "images").exists() and not (a.instance_dir / "images").exists()

    assert run_cli({**env, "DFG_PUBLIC_URL": b.url}, "labelstudio", "setup").returncode == 0
    synced = run_cli(env, "sync")
    assert synced.returncode == 0 and "pushed 1," in synced.stdout and "failed 0" in synced.stdout, synced.stdout
    from feedback.labelstudio import LabelStudioClient

    client = LabelStudioClient(env["DFG_LABEL_STUDIO_URL"], env["DFG_LABEL_STUDIO_API_KEY"])
    try:
        project, _ = client.ensure_project(env["DFG_LABEL_STUDIO_PROJECT"])
        [task] = client.find_tasks(project.id, f"dfg-{sha256}")
        assert hashlib.sha256(client.download_image(task.data["image"])).hexdigest() == sha256
        assert task.data["check_id"] == check["id"] and task.data["user_label"] == "fake"
    finally:
        client.close()
    figures("two hosts: check on A, read + explained + disputed on B, pushed to Label Studio from B's "
            "sync with the same bytes (images only in the object store)")


def _a_model_promoted_on_a_is_served_by_b(a, b, database_url, tmp_path, figures) -> None:
    registry = open_registry(Settings(instance_dir=a.instance_dir, database_url=database_url))
    register_copy(registry, "two-hosts-v1", tmp_path)
    registry.promote("two-hosts-v1", note="promoted on host A")
    promoted = time.monotonic()
    served = {}
    while len(served) < 2:
        for name, server in (("a", a), ("b", b)):
            if name not in served:
                model = requests.get(f"{server.url}/api/v1/model", headers=_auth(), timeout=30).json()
                if model["version"] == "two-hosts-v1":
                    served[name] = time.monotonic() - promoted
        assert time.monotonic() - promoted < SWITCH_BOUND_S, f"not served within {SWITCH_BOUND_S} s:\n{b.log_tail()}"
        time.sleep(0.1)
    assert (b.instance_dir / "models" / "two-hosts-v1" / "model.onnx").is_file()    # B's own copy, by hash
    ready = requests.get(f"{b.url}/readyz", timeout=10).json()
    assert ready == {"status": "ready", "model_version": "two-hosts-v1"}
    registry.store.engine.dispose()
    figures(f"two hosts: promote on A served by A after {served['a']:.1f} s, by B after {served['b']:.1f} s "
            f"(DFG_MODEL_POLL_SECONDS={MODEL_POLL_SECONDS}; bound {SWITCH_BOUND_S} s)")


def _the_per_key_limit_is_counted_across_both(a, b, figures) -> None:
    statuses = []
    for index in range(PER_KEY_LIMIT + 10):
        server = (a, b)[index % 2]
        statuses.append(requests.get(f"{server.url}/api/v1/model", headers=_auth(LIMITED_KEY), timeout=10).status_code)
    assert statuses.count(200) == PER_KEY_LIMIT and statuses.count(429) == 10, statuses
    assert statuses[:PER_KEY_LIMIT] == [200] * PER_KEY_LIMIT
    figures(f"two hosts: {PER_KEY_LIMIT + 10} calls of one key alternating A/B under {PER_KEY_LIMIT}/minute: "
            f"{statuses.count(200)} answered, {statuses.count(429)} refused (one count in Redis)")


def _the_in_flight_cap_holds_per_host(a, b, figures) -> None:
    """Eight checks of one key at once, four to each host: each host's front admits up to its cap."""
    photo = jpeg(np.asarray(Image.fromarray(astronaut()).resize((1920, 1080))))   # ~70 ms a check
    start, statuses, lock = threading.Barrier(8), {"a": [], "b": []}, threading.Lock()

    def send(name, server) -> None:
        start.wait()
        status = requests.post(f"{server.url}/api/v1/checks", data=photo, timeout=60,
                               headers={**_auth(BURST_KEY), "Content-Type": "image/jpeg"}).status_code
        with lock:
            statuses[name].append(status)

    threads = [threading.Thread(target=send, args=pair) for pair in [("a", a), ("b", b)] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = {name: codes.count(200) for name, codes in statuses.items()}
    assert all(set(codes) <= {200, 429} for codes in statuses.values()), statuses
    assert all(count >= 1 for count in answered.values()) and sum(answered.values()) > IN_FLIGHT_CAP, statuses
    figures(f"two hosts: 8 simultaneous checks of one key, 4 to each host, DFG_MAX_IN_FLIGHT_PER_KEY={IN_FLIGHT_CAP}: "
            f"answered A {answered['a']}, B {answered['b']}, refused 429 {8 - sum(answered.values())} "
            f"(the cap is per host: up to {2 * IN_FLIGHT_CAP} in flight across two)")


def _b_keeps_answering_when_a_dies_and_no_accepted_dispute_is_lost(a, b, figures) -> None:
    checks = [_check(b, data) for data in distinct_face_jpegs(24)]
    accepted, a_failures, b_failures, lock = {}, [], [], threading.Lock()
    killed, done = threading.Event(), threading.Event()

    def dispute(server, check, failures) -> None:
        try:
            response = requests.post(f"{server.url}/api/v1/checks/{check['id']}/disputes", headers=_auth(),
                                     json={"label": "fake"}, timeout=30)
        except requests.RequestException as error:
            failures.append(repr(error))
            return
        if response.status_code == 202:
            with lock:
                accepted[check["id"]] = response.json()["id"]
        else:
            failures.append(f"{response.status_code} {response.text[:200]}")

    def load() -> None:   # checks on B all along, before and after A dies
        for data in distinct_face_jpegs(84)[24:]:
            if done.is_set():
                return
            try:
                response = requests.post(f"{b.url}/api/v1/checks", data=data, timeout=30,
                                         headers={**_auth(), "Content-Type": "image/jpeg"})
                if response.status_code != 200:
                    b_failures.append(f"check: {response.status_code}")
            except requests.RequestException as error:
                b_failures.append(f"check: {error!r}")

    loader = threading.Thread(target=load)
    loader.start()
    for index, check in enumerate(checks):
        if index % 2 == 0:
            dispute(a, check, a_failures)
            if len([c for c in checks[:index + 1:2] if c["id"] in accepted]) == 4 and not killed.is_set():
                a.kill()                           # SIGKILL to A's front, gunicorn and workers
                killed.set()
        else:
            dispute(b, check, b_failures)
    done.set()
    loader.join()
    assert killed.is_set() and a.process.poll() is not None
    assert b_failures == []
    assert len(accepted) >= 4 + 12 and a_failures       # A accepted some, then refused connections
    for check_id, dispute_id in accepted.items():
        seen = requests.get(f"{b.url}/api/v1/checks/{check_id}", headers=_auth(), timeout=10).json()
        assert seen["dispute"]["id"] == dispute_id and seen["review"]["status"] == "queued"
    figures(f"two hosts: A killed -9 after 4 accepted disputes; B answered all of its {12} disputes and its "
            f"checks; {len(accepted)} accepted disputes, every one readable from B")
