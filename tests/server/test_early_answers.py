"""Every answer the app gives reaches the client unchanged through the front, whatever the body's size (issue 29).

The app answers 401, 415, 422 and 429 before it has read the body, or without reading all of it, and gunicorn
then closes its socket. The front used to turn each of those answers into a 502 as soon as the body was larger
than what its Unix socket to gunicorn takes in one go, so a revoked key on a real photo read "server failed".
The real process tree (`deepfake-guard serve`), real sockets, bodies of 1 KB, 1 MB, 5 MB and just under
DFG_MAX_UPLOAD_BYTES, raw, multipart and chunked, on kept-alive and closing connections.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.images import astronaut, jpeg
from tests.servers import start_ours

LIMIT = 10 * 1024 * 1024        # DFG_MAX_UPLOAD_BYTES's default, as the README's server runs
SIZES = {"1KB": 1024, "1MB": 1024 * 1024, "5MB": 5 * 1024 * 1024, "under-limit": LIMIT - 1024}
EMPTY_SIZES = {"0B": 0}
KEY, KEY_415, KEY_422, LIMITED_KEY, FLIGHT_KEY = (f"early-{name}-0123456789"
                                                  for name in ("key", "415", "422", "limited", "flight"))
PER_KEY_LIMIT = 20
CLI = Path(sys.executable).with_name("deepfake-guard")
_RANDOM = os.urandom(LIMIT)     # random bytes: no image decoder accepts them


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The README's server (the front, no proxy in front); rate limits out of the way (an invalid key counts
    against its address's bucket, and all these requests come from 127.0.0.1)."""
    server = start_ours("early answers", tmp_path_factory.mktemp("early"), workers=2, threads=2, runtime_threads=1,
                        api_key=KEY, extra_env={"DFG_API_KEYS": ",".join((KEY, KEY_415, KEY_422)),
                                                "DFG_RATE_LIMIT_PER_KEY": "1000/minute",
                                                "DFG_RATE_LIMIT_PER_ADDRESS": "1200/minute",
                                                "DFG_RATE_LIMIT_FAILED_AUTH": "1000/minute",
                                                "DFG_MAX_IN_FLIGHT_PER_KEY": "3"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """The same server behind one proxy (DFG_PROXY_HOPS=1): the tests send X-Forwarded-For as nginx would,
    so each test is a client of its own address; tight limits and one request in flight per key. One worker:
    the rate limits count in each worker's memory, and a test that fills a bucket must fill the only one."""
    server = start_ours("early answers behind a proxy", tmp_path_factory.mktemp("early-proxied"), workers=1, threads=4,
                        runtime_threads=1, api_key=KEY,
                        extra_env={"DFG_API_KEYS": ",".join((KEY, LIMITED_KEY, FLIGHT_KEY)), "DFG_PROXY_HOPS": "1",
                                   "DFG_RATE_LIMIT_PER_ADDRESS": "5/minute", "DFG_RATE_LIMIT_FAILED_AUTH": "3/minute",
                                   "DFG_RATE_LIMIT_PER_KEY": f"{PER_KEY_LIMIT}/minute",
                                   "DFG_MAX_IN_FLIGHT_PER_KEY": "1"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def revoked_key(served):
    env = {**os.environ, "DFG_INSTANCE_DIR": str(Path(served.log_path).parent / "instance")}
    created = subprocess.run([str(CLI), "keys", "create", "--name", "revoked (test)"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    key_id = created.stderr.split("created key ", 1)[1].split()[0]
    subprocess.run([str(CLI), "keys", "revoke", key_id], env=env, capture_output=True, timeout=120, check=True)
    return created.stdout.strip()


def _address(server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _body(encoding: str, size: int, part: bytes = _RANDOM, field: str = "image") -> tuple[bytes, str]:
    """A request body of exactly `size` bytes and its Content-Type: the raw bytes, or a multipart form
    whose file field holds as many of them as fit."""
    if encoding in ("raw", "chunked"):
        return part[:size], "image/jpeg"
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"photo.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + part[:size - len(head) - len(tail)] + tail, f"multipart/form-data; boundary={boundary}"


def _send(server, encoding: str, size: int, headers: dict, target: str = "/api/v1/checks",
          content_type: str | None = None, close: bool = False,
          field: str = "image") -> tuple[int, http.client.HTTPMessage, dict]:
    """One POST on a fresh connection; unless it asked to close, the connection must stay usable: the same
    socket answers /healthz afterwards. Returns the status, the headers and the problem document."""
    body, body_type = _body(encoding, size, field=field)
    assert len(body) == size
    headers = {"Content-Type": content_type or body_type, **headers, **({"Connection": "close"} if close else {})}
    connection = http.client.HTTPConnection(*_address(server), timeout=60)
    try:
        if encoding == "chunked":
            chunks = (body[start:start + 256 * 1024] for start in range(0, len(body), 256 * 1024))
            connection.request("POST", target, body=chunks, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", target, body=body, headers=headers)
        sock = connection.sock
        response = connection.getresponse()
        document = json.loads(response.read())
        if close:
            assert response.getheader("Connection") == "close" and connection.sock is None
        else:
            assert connection.sock is sock, "the front closed a connection that HTTP lets stay open"
            connection.request("GET", "/healthz")
            assert connection.getresponse().read() and connection.sock is sock
        return response.status, response.msg, document
    finally:
        connection.close()


def _problem_slug(document: dict) -> str:
    return document["type"].rsplit("/", 1)[1]


VARIANTS = [(encoding, size_name) for encoding in ("raw", "multipart") for size_name in SIZES] + \
           [("chunked", "1MB"), ("chunked", "5MB")]
EMPTY = [("raw", "0B"), ("chunked", "0B")]      # a multipart form is never empty


@pytest.mark.parametrize("encoding, size_name", VARIANTS + EMPTY)
@pytest.mark.parametrize("who", ["no key", "unknown key", "revoked key"])
def test_a_refused_key_is_told_so_whatever_the_body(served, revoked_key, who, encoding, size_name):
    authorization = {"no key": {}, "unknown key": {"Authorization": "Bearer dfg_nope"},
                     "revoked key": {"Authorization": f"Bearer {revoked_key}"}}[who]
    status, headers, problem = _send(served, encoding, {**SIZES, **EMPTY_SIZES}[size_name], authorization)
    assert status == 401, problem
    assert headers["Content-Type"] == "application/problem+json"
    assert _problem_slug(problem) == ("key-revoked" if who == "revoked key" else "unauthorized")


@pytest.mark.parametrize("encoding, size_name", VARIANTS)
def test_a_body_that_is_no_image_is_415(served, encoding, size_name):
    """A PDF sent raw is refused before it is read; random bytes in the form's image field after."""
    content_type = "application/pdf" if encoding != "multipart" else None
    status, _, problem = _send(served, encoding, SIZES[size_name], {"Authorization": f"Bearer {KEY_415}"},
                               content_type=content_type)
    assert status == 415, problem
    assert problem["detail"]


@pytest.mark.parametrize("encoding, size_name", VARIANTS)
def test_an_invalid_field_is_422(served, encoding, size_name):
    """A bad `explain` flag on a raw body; a form whose file is not in the field 'image'."""
    status, _, problem = _send(served, encoding, SIZES[size_name], {"Authorization": f"Bearer {KEY_422}"},
                               target="/api/v1/checks?explain=maybe" if encoding != "multipart" else "/api/v1/checks",
                               field="photo")
    assert status == 422, problem
    assert _problem_slug(problem) in ("invalid-field", "missing-image")


def _spend(server, count: int, headers: dict, addresses: list[str] | None = None) -> None:
    """`count` small checks (refused as no image, counted all the same), each from its own address if given."""
    connection = http.client.HTTPConnection(*_address(server), timeout=30)
    for number in range(count):
        forwarded = {"X-Forwarded-For": addresses[number]} if addresses else {}
        connection.request("POST", "/api/v1/checks", body=b"not an image",
                           headers={"Content-Type": "image/jpeg", **headers, **forwarded})
        assert connection.getresponse().read()
    connection.close()


def test_the_per_key_limit_is_429_with_retry_after_whatever_the_body(proxied):
    """The key's checks come from many addresses (each under its own limit); closing and kept-alive."""
    authorization = {"Authorization": f"Bearer {LIMITED_KEY}"}
    _spend(proxied, PER_KEY_LIMIT, authorization, [f"192.0.2.{number}" for number in range(PER_KEY_LIMIT)])
    for number, (encoding, size_name) in enumerate(VARIANTS):
        status, headers, problem = _send(proxied, encoding, SIZES[size_name],
                                         {**authorization, "X-Forwarded-For": f"192.0.2.{100 + number}"},
                                         close=size_name == "1MB")
        assert status == 429, (encoding, size_name, problem)
        assert int(headers["Retry-After"]) > 0 and _problem_slug(problem) == "too-many-requests"
        assert problem["detail"] == f"{PER_KEY_LIMIT} per 1 minute"


def test_the_per_address_limit_is_429_behind_a_proxy(proxied):
    client = {"Authorization": f"Bearer {KEY}", "X-Forwarded-For": "198.51.100.1"}
    _spend(proxied, 5, client)
    for encoding, size_name in VARIANTS:
        status, headers, problem = _send(proxied, encoding, SIZES[size_name], client)
        assert status == 429, (encoding, size_name, problem)
        assert int(headers["Retry-After"]) > 0 and "per 1 minute" in problem["detail"]
    # another client behind the same proxy is not counted with it
    status, _, problem = _send(proxied, "raw", SIZES["1MB"], {**client, "X-Forwarded-For": "198.51.100.99"})
    assert status == 415, problem


def test_failed_authentication_meets_its_limit_behind_a_proxy(proxied):
    client = {"X-Forwarded-For": "198.51.100.2"}
    statuses = [_send(proxied, "raw", SIZES["1KB"], client)[0] for _ in range(3)]
    assert statuses == [401] * 3
    details = []
    for encoding, size_name in VARIANTS:
        status, headers, problem = _send(proxied, encoding, SIZES[size_name], client)
        assert status == 429, (encoding, size_name, problem)
        assert int(headers["Retry-After"]) > 0
        details.append(problem["detail"])
    # the fourth failure meets the failed-auth limit; from the sixth request the address's own limit may answer
    assert details[0] == "3 per 1 minute" and set(details) <= {"3 per 1 minute", "5 per 1 minute"}


def test_one_request_in_flight_per_key_others_429_none_502(proxied):
    """Six 5 MB photos of one key at once with a cap of one at the workers: each is answered 200 or the
    front's own 429 too-many-in-flight; never 502."""
    photo = jpeg(np.asarray(Image.fromarray(astronaut()).resize((2400, 2400))), quality=100)
    photo += b"\0" * (SIZES["5MB"] - len(photo))    # the decoder stops at the JPEG's end
    answers, lock = [], threading.Lock()

    def check(number: int) -> None:
        connection = http.client.HTTPConnection(*_address(proxied), timeout=60)
        connection.request("POST", "/api/v1/checks", body=photo, headers={
            "Content-Type": "image/jpeg", "Authorization": f"Bearer {FLIGHT_KEY}",
            "X-Forwarded-For": f"198.51.100.{10 + number}"})
        response = connection.getresponse()
        document = json.loads(response.read())
        with lock:
            answers.append((response.status, document.get("type", document.get("verdict"))))
        connection.close()

    threads = [threading.Thread(target=check, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [status for status, _ in answers]
    assert len(answers) == 6 and set(statuses) <= {200, 429} and 200 in statuses, answers
    assert all(kind.endswith("/too-many-in-flight") for status, kind in answers if status == 429), answers


def test_the_per_address_connection_cap_counts_clients_behind_a_proxy(proxied):
    """70 open connections from the proxy's one address (64 is the per-address cap), each carrying
    another client: all are answered, none is refused as 'too many open connections'."""
    connections = [http.client.HTTPConnection(*_address(proxied), timeout=30) for _ in range(70)]
    try:
        for connection in connections:
            connection.connect()
        statuses = []
        for number, connection in enumerate(connections):
            connection.request("GET", "/healthz", headers={"X-Forwarded-For": f"203.0.113.{number}"})
            statuses.append(connection.getresponse().status)
            connection.sock.settimeout(30)   # kept open while the next ones are answered
    finally:
        for connection in connections:
            connection.close()
    assert statuses == [200] * 70
