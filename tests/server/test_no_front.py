"""`deepfake-guard serve --no-front`: gunicorn alone, for a reverse proxy that buffers requests itself (issue 29).

The test plays the proxy (nginx with `proxy_request_buffering on` and `X-Forwarded-For $remote_addr`): whole
requests, each client's address in X-Forwarded-For.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images import astronaut, jpeg
from tests.servers import children, start_ours

KEY = "no-front-key-0123456789"
CLI = Path(sys.executable).with_name("deepfake-guard")


@pytest.fixture(scope="module")
def behind_a_proxy(tmp_path_factory):
    server = start_ours("no front", tmp_path_factory.mktemp("no-front"), workers=1, threads=2, runtime_threads=1,
                        api_key=KEY, serve_args=("--no-front",),
                        extra_env={"DFG_PROXY_HOPS": "1", "DFG_RATE_LIMIT_PER_ADDRESS": "2/minute"})
    yield server
    server.stop()


def _post(server, body: bytes, headers: dict) -> tuple[int, dict]:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", "/api/v1/checks", body=body, headers={"Content-Type": "image/jpeg", **headers})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_without_proxy_hops_it_refuses_to_start(tmp_path):
    env = {**os.environ, "DFG_INSTANCE_DIR": str(tmp_path / "instance"), "DFG_PROXY_HOPS": "0"}
    result = subprocess.run([str(CLI), "serve", "--no-front", "--port", "1"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "DFG_PROXY_HOPS" in result.stderr and "buffers" in result.stderr


def test_gunicorn_serves_alone_and_counts_each_client_behind_the_proxy(behind_a_proxy):
    assert children(behind_a_proxy.process.pid), "gunicorn's workers run under the serve process itself"
    assert all(not children(worker) for worker in children(behind_a_proxy.process.pid))   # no front above them
    photo = jpeg(astronaut())
    alice, bob = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "198.51.100.8"}
    statuses = [_post(behind_a_proxy, photo, {"Authorization": f"Bearer {KEY}", **alice})[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    status, check = _post(behind_a_proxy, photo, {"Authorization": f"Bearer {KEY}", **bob})
    assert status == 200 and check["scope"] == "faces"


@pytest.mark.parametrize("size", [1024 * 1024, 5 * 1024 * 1024, 10 * 1024 * 1024 - 1024])
def test_an_early_answer_to_a_large_body_reaches_the_proxy(behind_a_proxy, size):
    """gunicorn closes a connection draining at most 64 KB; the server reads the rest of a body the app left
    (server/gunicorn_conf.py's post_request), so the answer is not lost to a reset."""
    status, problem = _post(behind_a_proxy, os.urandom(size), {"X-Forwarded-For": f"198.51.100.{size % 200}"})
    assert status == 401 and problem["type"].endswith("/unauthorized")
