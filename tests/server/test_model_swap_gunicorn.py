"""A real gunicorn with two workers: each worker picks up a new champion, no request fails."""
from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from core.registry import Registry
from tests.e2e.servers import start_server
from tests.images import endless_face_jpegs
from tests.model_versions import register_copy

API_KEY = "gunicorn-swap-key-0123456789"
PICKUP_TIMEOUT_S = 60


@pytest.mark.slow
def test_every_gunicorn_worker_picks_up_the_champion(tmp_path):
    # four clients hammer with one key: no cap on its requests in flight (the cap is tested in test_scan_fairness)
    server = start_server(tmp_path / "server", API_KEY, workers="2", threads="2", max_in_flight_per_key="0")
    try:
        registry = Registry.for_instance(server.instance_dir)
        register_copy(registry, "swap-v1", tmp_path)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        results, failures, stop = [], [], threading.Event()

        def hammer(worker: int):
            images = endless_face_jpegs(worker)
            while not stop.is_set():
                data = next(images)
                try:
                    # A new connection each time, so the kernel spreads requests over both workers.
                    response = requests.post(f"{server.url}/api/v1/checks", data=data, timeout=30,
                                             headers={**headers, "Content-Type": "image/jpeg", "Connection": "close"})
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                    else:
                        results.append(response.json()["model_version"])
                except requests.RequestException as error:
                    failures.append(repr(error))

        threads = [threading.Thread(target=hammer, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        try:
            while len(results) < 8 and not failures:
                time.sleep(0.05)
            registry.promote("swap-v1")
            deadline = time.monotonic() + PICKUP_TIMEOUT_S
            pattern = re.compile(r"serving model swap-v1 \(was [^)]+\) in process (\d+)")
            while len(set(pattern.findall(server.log_path.read_text()))) < 2:
                assert time.monotonic() < deadline, f"not both workers switched:\n{server.log_tail()}"
                time.sleep(0.1)
            count = len(results)
            while len(results) < count + 8:
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert failures == []
        assert results[-1] == "swap-v1" and results[0] != "swap-v1"
    finally:
        server.stop()
