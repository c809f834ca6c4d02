"""Keys kept in the store (SQLite and PostgreSQL): created, used, listed without the secret, revoked; never logged."""
from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from core.store import ApiKey
from server import create_app, keys
from tests.images import coffee, jpeg


@pytest.fixture
def instance(tmp_path, monkeypatch, each_database_url):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("DFG_DATABASE_URL", each_database_url)   # the CLI and the app share the store
    monkeypatch.delenv("DFG_API_KEYS", raising=False)
    monkeypatch.setattr(keys, "KEY_CACHE_SECONDS", 0.0)  # see revocations at once
    return tmp_path / "instance"


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _check(client, key: str | None, remote: str = "192.0.2.7"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/api/v1/checks", data=jpeg(coffee()), content_type="image/jpeg", headers=headers,
                       environ_base={"REMOTE_ADDR": remote})


def test_created_key_works_until_revoked(instance, caplog):
    caplog.set_level(logging.DEBUG)
    key = _cli("keys", "create", "--name", "alice laptop").strip()
    assert key.startswith("dfg_") and len(key) > 40
    app = create_app()
    client = app.test_client()
    made = _check(client, key)
    assert made.status_code == 200
    assert _check(client, None).status_code == 401                    # a key exists: no open access
    assert _check(client, None, remote="127.0.0.1").status_code == 401  # not even from loopback
    assert _check(client, key + "x").status_code == 401
    listed = _cli("keys", "list")
    key_id = listed.split()[0]
    assert "alice laptop" in listed and key not in listed
    assert made.get_json()["id"]
    with app.extensions["store"].session() as session:
        row = session.scalars(select(ApiKey)).one()
        assert row.key_sha256 == keys.digest(key) and key not in repr(row.__dict__)
    _cli("keys", "revoke", key_id)
    assert _check(client, key).status_code == 401
    assert "revoked" in _cli("keys", "list")
    assert key not in caplog.text


def test_environment_keys_still_work_beside_stored_ones(instance, monkeypatch):
    _cli("keys", "create", "--name", "stored")
    monkeypatch.setenv("DFG_API_KEYS", "env-key-123")
    client = create_app().test_client()
    assert _check(client, "env-key-123").status_code == 200


def test_revoking_an_unknown_key_says_so(instance):
    result = CliRunner().invoke(main, ["keys", "revoke", "nope"])
    assert result.exit_code != 0 and "no active key" in result.output


def test_serve_accepts_a_public_address_once_a_stored_key_exists(instance, monkeypatch):
    refused = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert refused.exit_code != 0 and "keys create" in refused.output
    _cli("keys", "create", "--name", "ops")
    started = []
    monkeypatch.setattr("os.execv", lambda *args: started.append(args))
    assert CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"]).exit_code == 0
    assert started, "serve should exec the front"
    arguments = started[0][1]
    assert arguments[arguments.index("--host") + 1] == "0.0.0.0" and "server.supervisor" in arguments
