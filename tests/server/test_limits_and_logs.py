"""Rate limits (429 with Retry-After), request ids, security headers and JSON logs."""
from __future__ import annotations

import json
import logging

from server import create_app
from server.observability import JsonFormatter
from tests.conftest import API_KEY
from tests.images import coffee, jpeg

IMAGE = jpeg(coffee())


def _app(tmp_path, **settings):
    return create_app({"instance_dir": tmp_path, "api_keys": [API_KEY, "other-key"], **settings})


def _post(client, key=API_KEY, remote="192.0.2.1"):
    return client.post("/api/v1/checks", data=IMAGE, content_type="image/jpeg",
                       headers={"Authorization": f"Bearer {key}"}, environ_base={"REMOTE_ADDR": remote})


def test_per_key_limit_answers_429_with_retry_after(tmp_path):
    client = _app(tmp_path, rate_limit_per_key="3/minute", rate_limit_per_address="").test_client()
    assert [_post(client).status_code for _ in range(3)] == [200, 200, 200]
    limited = _post(client)
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["status"] == 429
    assert _post(client, key="other-key").status_code == 200   # another key has its own budget
    assert client.get("/healthz").status_code == 200


def test_per_address_limit_counts_every_key(tmp_path):
    client = _app(tmp_path, rate_limit_per_key="", rate_limit_per_address="4/minute").test_client()
    statuses = [_post(client, key=key).status_code for key in (API_KEY, "other-key") * 2]
    assert statuses == [200] * 4
    assert _post(client).status_code == 429
    assert _post(client, remote="192.0.2.2").status_code == 200  # another address is not affected
    for _ in range(10):
        assert client.get("/readyz", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200


def test_per_address_limit_holds_beside_the_per_key_limit(tmp_path):
    """A blueprint's own per-key limit used to replace the per-address default on the API."""
    client = _app(tmp_path, rate_limit_per_key="100/minute", rate_limit_per_address="4/minute").test_client()
    assert [_post(client, key=key).status_code for key in (API_KEY, "other-key") * 2] == [200] * 4
    assert _post(client).status_code == 429
    assert _post(client, remote="192.0.2.2").status_code == 200


def test_an_address_rotating_invented_keys_meets_429(tmp_path):
    client = _app(tmp_path).test_client()  # the default limits
    statuses = [client.get("/api/v1/model", headers={"Authorization": f"Bearer invented-{number}"},
                           environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code for number in range(200)]
    first = statuses.index(429)
    assert set(statuses[:first]) == {401} and set(statuses[first:]) == {429}
    assert first <= 30
    # A valid key from that address is not locked out, nor is another address.
    assert _post(client, remote="192.0.2.9").status_code == 200
    assert client.get("/api/v1/model", headers={"Authorization": "Bearer invented"},
                      environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 401


def test_request_id_and_security_headers(tmp_path):
    client = _app(tmp_path).test_client()
    answer = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert answer.headers["X-Request-ID"] == "abc-123"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    made_up = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 100}).headers["X-Request-ID"]
    assert len(made_up) == 32 and "<" not in made_up  # an unsafe id is replaced, not echoed
    problem = client.get("/api/v1/model")  # no key
    assert problem.get_json()["request_id"] == problem.headers["X-Request-ID"]


def test_logs_are_json_with_the_request_id_and_no_key(tmp_path, caplog):
    app = _app(tmp_path)
    caplog.set_level(logging.INFO, logger="server.access")
    answer = _post(app.test_client())
    record = next(r for r in caplog.records if r.name == "server.access")
    with app.test_request_context():
        from flask import g
        g.request_id = answer.headers["X-Request-ID"]
        line = json.loads(JsonFormatter().format(record))
        assert line["request_id"] == answer.headers["X-Request-ID"]
    assert line["status"] == 200 and line["path"] == "/api/v1/checks" and line["level"] == "info"
    assert API_KEY not in caplog.text
