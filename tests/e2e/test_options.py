"""Options: server address and key round-trip through chrome.storage.local; "Test connection" tells what is wrong."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser import EXTENSION_ORIGIN
from tests.e2e.servers import free_port

pytestmark = pytest.mark.e2e


def open_options(extension):
    page = extension.open_page("options")
    page.locator("body[data-loaded]").wait_for(state="attached")
    return page


def test_settings_round_trip(extension, dfg_server):
    page = open_options(extension)
    assert page.locator("#server-url").input_value() == dfg_server.url  # what the tests stored
    assert page.locator("#api-key").input_value() == dfg_server.api_key
    assert page.locator("#api-key").get_attribute("type") == "password"

    page.locator("#server-url").fill(f"  {dfg_server.url}/  ")
    page.locator("#api-key").fill(" another-key ")
    page.locator("#save").click()
    expect(page.locator("#status")).to_have_text("Saved.")
    assert extension.storage("serverUrl", "apiKey") == {"serverUrl": dfg_server.url, "apiKey": "another-key"}

    page.reload()
    page.locator("body[data-loaded]").wait_for(state="attached")
    assert page.locator("#server-url").input_value() == dfg_server.url
    assert page.locator("#api-key").input_value() == "another-key"
    page.locator("#show-key").click()
    assert page.locator("#api-key").get_attribute("type") == "text"
    assert page.locator("#origin-line").inner_text() == f"DFG_EXTENSION_ORIGINS={EXTENSION_ORIGIN}"


def test_an_address_that_is_not_http_is_refused(extension, dfg_server):
    page = open_options(extension)
    page.locator("#server-url").fill("ftp://files.example")
    page.locator("#save").click()
    expect(page.locator("#status")).to_contain_text("must start with http:// or https://")
    assert page.locator("#server-url").get_attribute("aria-invalid") == "true"
    assert extension.storage("serverUrl") == {"serverUrl": dfg_server.url}


def test_test_connection(extension, dfg_server):
    model_version = requests.get(f"{dfg_server.url}/readyz", timeout=5).json()["model_version"]
    page = open_options(extension)
    status = page.locator("#status")

    page.locator("#test").click()
    expect(status).to_have_text(f"Connected. The server is ready with model {model_version}, and it accepts the API key.")
    expect(status).to_have_class("ok")

    # The test uses the form as typed, before saving: a wrong key is told apart from a server that is down.
    page.locator("#api-key").fill("wrong-key")
    page.locator("#test").click()
    expect(status).to_have_text(f"The server is up (model {model_version}), but it refused the API key. Check the key.")
    expect(status).to_have_class("error")

    down_url = f"http://127.0.0.1:{free_port()}"
    page.locator("#server-url").fill(down_url)
    page.locator("#test").click()
    expect(status).to_contain_text(f"Can't reach the Deepfake Guard server at {down_url}")
    assert extension.storage("serverUrl", "apiKey") == {"serverUrl": dfg_server.url, "apiKey": dfg_server.api_key}
