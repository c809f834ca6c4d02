"""Per-person keys without pasting secrets: `keys enroll` makes a one-time code, POST /api/v1/enrollments
redeems it once for a key, a revoked key gets its own clear 401; and the admin policy generated from the
extension's managed schema (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import plistlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cli import main
from core.store import Enrollment, Store
from server import create_app, keys
from server.extension_rollout import EXTENSION_ID, managed_schema
from tests.images import coffee, jpeg


@pytest.fixture
def instance(tmp_path, monkeypatch, each_database_url):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("DFG_DATABASE_URL", each_database_url)
    monkeypatch.delenv("DFG_API_KEYS", raising=False)
    monkeypatch.setattr(keys, "KEY_CACHE_SECONDS", 0.0)
    return tmp_path / "instance"


def _cli(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _redeem(client, code):
    return client.post("/api/v1/enrollments", json={"code": code}, environ_base={"REMOTE_ADDR": "192.0.2.9"})


def _check(client, key):
    return client.post("/api/v1/checks", data=jpeg(coffee()), content_type="image/jpeg",
                       headers={"Authorization": f"Bearer {key}"}, environ_base={"REMOTE_ADDR": "192.0.2.9"})


def test_a_code_becomes_one_key_once_and_revoking_it_says_so(instance):
    enrolled = _cli("keys", "enroll", "--name", "alice")
    code = enrolled.stdout.strip()
    assert code.startswith("dfge_") and f"chrome-extension://{EXTENSION_ID}/options/options.html#enroll={code}" \
        in enrolled.stderr
    client = create_app().test_client()
    answer = _redeem(client, code)
    assert answer.status_code == 201 and answer.get_json()["name"] == "alice"
    key, key_id = answer.get_json()["api_key"], answer.get_json()["key_id"]
    assert _check(client, key).status_code == 200
    again = _redeem(client, code)
    assert again.status_code == 410 and again.get_json()["type"].endswith("/enrollment-used")
    assert f"{key_id}  " in _cli("keys", "list").stdout and "alice" in _cli("keys", "list").stdout

    _cli("keys", "revoke", key_id)
    refused = _check(client, key)
    assert refused.status_code == 401 and refused.get_json()["type"].endswith("/key-revoked")
    assert key_id in refused.get_json()["detail"] and "enrolment code" in refused.get_json()["detail"]
    wrong = _check(client, "dfg_not-a-key-at-all-0123456789")
    assert wrong.status_code == 401 and wrong.get_json()["type"].endswith("/unauthorized")


def test_unknown_expired_and_malformed_codes(instance, each_database_url):
    code = _cli("keys", "enroll", "--name", "bob", "--hours", "1").stdout.strip()
    store = Store(each_database_url)
    with store.session() as session:
        session.get(Enrollment, keys.digest(code)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    client = create_app().test_client()
    assert _redeem(client, code).get_json()["type"].endswith("/enrollment-expired")
    assert _redeem(client, "dfge_" + "x" * 32).status_code == 404
    for body in ({"code": "dfg_a-key-not-a-code"}, {"code": 5}, {}, ["dfge_x"]):
        response = client.post("/api/v1/enrollments", json=body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_two_redemptions_at_once_make_one_key(instance):
    code = _cli("keys", "enroll", "--name", "carol").stdout.strip()
    app = create_app()
    statuses, start = [], threading.Barrier(4)

    def redeem():
        start.wait()
        statuses.append(_redeem(app.test_client(), code).status_code)
    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 410, 410, 410]


def test_the_policy_is_made_from_the_managed_schema():
    schema = managed_schema()
    assert set(schema["properties"]) == {"serverUrl", "apiKey", "scanAllowList", "scanInFlight", "videoFrames",
                                          "allowUserChanges"}
    linux = json.loads(_cli("extension", "policy", "--server-url", "https://dfg.example.org/",
                            "--update-url", "https://dfg.example.org/updates.xml").stdout)
    assert linux["ExtensionInstallForcelist"] == [f"{EXTENSION_ID};https://dfg.example.org/updates.xml"]
    assert linux["3rdparty"]["extensions"][EXTENSION_ID] == {"serverUrl": "https://dfg.example.org",
                                                            "allowUserChanges": False}
    windows = _cli("extension", "policy", "--format", "windows", "--server-url", "https://x.example",
                   "--api-key", 'k"1').stdout
    assert f"3rdparty\\extensions\\{EXTENSION_ID}\\policy]" in windows and '"apiKey"="k\\"1"' in windows
    assert '"allowUserChanges"=dword:00000000' in windows
    mac = plistlib.loads(_cli("extension", "policy", "--format", "macos", "--server-url", "https://x.example",
                              "--allow-user-changes").stdout.encode())
    [settings] = [p for p in mac["PayloadContent"] if p["PayloadType"] == EXTENSION_ID]
    assert settings["serverUrl"] == "https://x.example" and settings["allowUserChanges"] is True


def test_the_policy_carries_the_page_scan_settings():
    linux = json.loads(_cli("extension", "policy", "--server-url", "https://x.example", "--scan-site",
                            "https://news.example.org/", "--scan-site", "https://b.example", "--scan-in-flight", "3").stdout)
    settings = linux["3rdparty"]["extensions"][EXTENSION_ID]
    assert settings["scanAllowList"] == ["https://news.example.org", "https://b.example"]
    assert settings["scanInFlight"] == 3
    windows = _cli("extension", "policy", "--format", "windows", "--server-url", "https://x.example",
                   "--scan-site", "https://a.example", "--scan-in-flight", "2").stdout
    subkey = windows.split("\\policy\\scanAllowList]")[1]  # a list is a subkey of numbered values
    assert subkey.split() == ['"1"="https://a.example"']
    assert '"scanInFlight"=dword:00000002' in windows
    result = CliRunner().invoke(main, ["extension", "policy", "--server-url", "https://x.example", "--scan-in-flight", "9"])
    assert result.exit_code == 2


def test_the_policy_carries_the_frames_per_video_check():
    linux = json.loads(_cli("extension", "policy", "--server-url", "https://x.example", "--video-frames", "4").stdout)
    assert linux["3rdparty"]["extensions"][EXTENSION_ID]["videoFrames"] == 4
    windows = _cli("extension", "policy", "--format", "windows", "--server-url", "https://x.example",
                   "--video-frames", "3").stdout
    assert '"videoFrames"=dword:00000003' in windows
    result = CliRunner().invoke(main, ["extension", "policy", "--server-url", "https://x.example", "--video-frames", "9"])
    assert result.exit_code == 2


def test_the_policy_refuses_what_is_not_an_extension_id():
    result = CliRunner().invoke(main, ["extension", "policy", "--server-url", "https://x.example",
                                       "--extension-id", "not-an-id"])
    assert result.exit_code == 2 and "not a Chrome extension ID" in result.output
