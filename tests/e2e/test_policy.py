"""Roll-out by policy in real Chromium with a real policy file in Debian Chromium's managed policy folder:
the extension uses the policy's server and key without the options page, the options page shows them
locked, an enrolment code becomes a working per-person key, and a revoked key is named in the overlay."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.browser import OVERLAY, SCREENSHOTS, Extension, launch, wait_for_overlay
from tests.e2e.pages import open_photo_page
from tests.images import astronaut, jpeg

pytestmark = pytest.mark.e2e
POLICY_DIR = Path("/etc/chromium/policies/managed")     # Debian's Chromium reads its policies here
POLICY_FILE = POLICY_DIR / "deepfake-guard-e2e.json"
CLI = Path(sys.executable).with_name("deepfake-guard")


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DFG_INSTANCE_DIR": str(server.instance_dir)}
    result = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def policy(playwright, tmp_path):
    """Write a policy made by `deepfake-guard extension policy`, then start Chromium under it."""
    contexts = []

    def start(server, *policy_args: str) -> Extension:
        try:
            POLICY_DIR.mkdir(parents=True, exist_ok=True)
            POLICY_FILE.write_text(_cli(server, "extension", "policy", *policy_args).stdout)
        except PermissionError:
            pytest.fail(f"cannot write {POLICY_FILE}: the policy tests run as root (scripts/test.sh in CI)")
        context = launch(playwright, tmp_path / f"profile-{len(contexts)}")
        contexts.append(context)
        return Extension(context)

    yield start
    for context in contexts:
        context.close()
    POLICY_FILE.unlink(missing_ok=True)


def test_the_policy_sets_server_and_key_and_locks_them(policy, dfg_server, site, timings):
    extension = policy(dfg_server, "--server-url", dfg_server.url, "--api-key", dfg_server.api_key)
    assert extension.worker.evaluate("() => chrome.storage.managed.get(null)") == {
        "serverUrl": dfg_server.url, "apiKey": dfg_server.api_key, "allowUserChanges": False}
    assert extension.storage("serverUrl", "apiKey") == {}             # nothing typed in the options page

    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "policy: server and key from the policy")
    assert dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))["verdict"]

    options = extension.open_page("options")
    options.locator("body[data-loaded]").wait_for(state="attached")
    assert options.locator("body").get_attribute("data-locked") == "serverUrl apiKey"
    assert options.locator("#server-url").is_disabled() and options.locator("#api-key").is_disabled()
    assert options.locator("#server-url").input_value() == dfg_server.url
    assert options.locator("#managed-note").is_visible()
    assert "Your organisation set these settings" in options.locator("#managed-note").inner_text()
    assert options.locator("#enrollment").is_hidden()                # a shared key needs no enrolment
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    options.screenshot(path=str(SCREENSHOTS / "options-locked.png"), full_page=True)


def test_an_enrolment_code_gives_a_key_of_ones_own_and_revoking_it_is_explained(policy, dfg_server, site, timings):
    extension = policy(dfg_server, "--server-url", dfg_server.url)    # the server is set; each person enrols
    code = _cli(dfg_server, "keys", "enroll", "--name", "alice (e2e)").stdout.strip()

    options = extension.open_page("options")
    options.goto(f"{options.url}#enroll={code}")                       # the link the command prints
    options.reload()
    options.locator("body[data-loaded]").wait_for(state="attached")
    assert options.locator("#enroll-code").input_value() == code
    assert options.locator("#server-url").is_disabled() and not options.locator("#api-key").is_disabled()
    options.locator("#redeem").click()
    options.locator("body[data-enrolled]").wait_for(state="attached")
    key_id = options.locator("body").get_attribute("data-enrolled")
    stored = extension.storage("apiKey")["apiKey"]
    assert stored.startswith("dfg_") and stored != dfg_server.api_key
    assert "Enrolled" in options.locator("#enroll-status").inner_text()
    options.locator("#redeem").click()                                 # the field is empty now: says so
    assert "Enter the code" in options.locator("#enroll-status").inner_text()

    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    wait_for_overlay(page, clicked, timings, "policy: enrolled key")

    listed = _cli(dfg_server, "keys", "list").stdout
    assert f"{key_id}  " in listed and "alice (e2e)" in listed
    _cli(dfg_server, "keys", "revoke", key_id)
    time.sleep(10.5)                                                   # servers cache keys for 10 s
    page.locator(OVERLAY).evaluate("overlay => overlay.remove()")
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "policy: revoked key", state="error")
    assert root.get_attribute("data-deepfake-guard-error") == "revoked"
    text = page.locator(f"{OVERLAY} .panel").inner_text()
    assert "API key revoked" in text and "new enrolment code" in text and key_id in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "overlay-key-revoked.png"))
    assert json.loads(POLICY_FILE.read_text())["3rdparty"]["extensions"]   # the policy stayed in place


def test_the_policy_sets_and_locks_the_page_scan_settings(policy, dfg_server, site):
    extension = policy(dfg_server, "--server-url", dfg_server.url, "--api-key", dfg_server.api_key,
                       "--scan-site", site.origin, "--scan-in-flight", "3")
    site.add("/photo.jpg", jpeg(astronaut(), quality=53), "image/jpeg")
    site.add("/", '<h1>Intranet news</h1><img id="photo" src="/photo.jpg" width="300" height="300">')

    page = extension.context.new_page()
    page.goto(site.url("/"))                 # on the policy's list: scanned as it loads, nobody asked
    page.wait_for_function("""() => { const host = document.querySelector('deepfake-guard-scan');
        return host && host.dataset.found === '1' && host.dataset.checked === '1'; }""", timeout=30_000)

    options = extension.open_page("options")
    options.locator("body[data-loaded]").wait_for(state="attached")
    assert options.locator("#scan-in-flight").is_disabled() and options.locator("#scan-in-flight").input_value() == "3"
    assert options.locator("#scan-allow-list").is_disabled()
    assert options.locator("#scan-allow-list").input_value() == site.origin
    assert options.locator("#scan-managed-note").is_visible() and options.locator("#scan-save").is_hidden()
