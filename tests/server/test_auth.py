"""Bearer keys, and the loopback-only rule when no key is configured."""
from __future__ import annotations

from click.testing import CliRunner

from tests.images import coffee, jpeg


def _post(client, headers=None, **kwargs):
    return client.post("/api/v1/checks", data=jpeg(coffee()), content_type="image/jpeg", headers=headers or {},
                       **kwargs)


def test_missing_key_is_401_problem(client):
    response = _post(client)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "Bearer" in response.get_json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_key_and_wrong_scheme_are_401(client):
    assert _post(client, {"Authorization": "Bearer wrong"}).status_code == 401
    assert _post(client, {"Authorization": "Basic dGVzdA=="}).status_code == 401
    assert client.get("/api/v1/model", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_right_key_is_accepted(client, auth):
    assert _post(client, auth).status_code == 200


def test_without_configured_keys_only_loopback_clients_are_served(tmp_path):
    from server import create_app

    client = create_app({"instance_dir": tmp_path, "api_keys": []}).test_client()
    assert _post(client, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    remote = _post(client, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert remote.status_code == 401
    assert "DFG_API_KEYS" in remote.get_json()["detail"]


def test_serve_refuses_a_public_address_without_keys(monkeypatch):
    from cli import main

    monkeypatch.delenv("DFG_API_KEYS", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8099"])
    assert result.exit_code != 0
    assert "DFG_API_KEYS" in result.output
