"""Failures show a clear message on the image: server down, wrong key, and images the server refuses."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.browser import EXTENSION_ORIGIN, OVERLAY, screenshot_overlay, wait_for_overlay
from tests.e2e.conftest import API_KEY, MAX_UPLOAD_BYTES
from tests.e2e.servers import free_port, start_server
from tests.images import astronaut, jpeg

pytestmark = pytest.mark.e2e

PHOTO = jpeg(astronaut())


def noise_png(width: int, height: int) -> bytes:
    """Random pixels: PNG cannot compress them, so the file is about width × height × 3 bytes."""
    pixels = np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">'
       b'<circle cx="100" cy="100" r="80" fill="#1565c0"/></svg>')


def show_image(extension, site, body: bytes, content_type: str, name: str):
    site.add(f"/{name}", body, content_type)
    page = extension.context.new_page()
    page.goto(site.add("/", f'<h1>Errors</h1><img id="photo" src="/{name}" width="320" height="320">'))
    page.wait_for_function("document.getElementById('photo').complete")
    return page


def check_and_wait_for_error(extension, page, timings, label):
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, label, state="error")
    return root, page.locator(f"{OVERLAY} .message").inner_text()


def test_server_down_says_so_and_try_again_works_once_it_is_up(extension, dfg_server, site, timings):
    down_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    extension.configure(down_url, dfg_server.api_key)
    page = show_image(extension, site, PHOTO, "image/jpeg", "photo.jpg")

    root, message = check_and_wait_for_error(extension, page, timings, "error: server down")

    assert root.get_attribute("data-deepfake-guard-error") == "unreachable"
    assert page.locator(f"{OVERLAY} header .label").inner_text() == "Server not reachable"
    assert f"Can't reach the Deepfake Guard server at {down_url}" in message
    assert page.locator(f"{OVERLAY} button.open-options").is_visible()
    screenshot_overlay(page, "#photo", "overlay-error")

    # The user fixes the address and presses "Try again": the same image is checked.
    extension.configure(dfg_server.url, dfg_server.api_key)
    page.locator(f"{OVERLAY} button.retry").click()
    page.locator(f'{OVERLAY}[data-deepfake-guard-state="done"] .panel').wait_for()
    check = dfg_server.get_check(page.locator(OVERLAY).get_attribute("data-deepfake-guard-check"))
    assert page.locator(OVERLAY).get_attribute("data-deepfake-guard-verdict") == check["verdict"]


def test_wrong_api_key_says_so_and_offers_the_options(extension, dfg_server, site, timings):
    extension.configure(dfg_server.url, "not-the-key")
    page = show_image(extension, site, PHOTO, "image/jpeg", "photo.jpg")

    root, message = check_and_wait_for_error(extension, page, timings, "error: 401")

    assert root.get_attribute("data-deepfake-guard-error") == "unauthorized"
    assert page.locator(f"{OVERLAY} header .label").inner_text() == "API key refused"
    assert "refused the API key" in message and "Options" in message
    with extension.context.expect_page() as options_page:
        page.locator(f"{OVERLAY} button.open-options").click()
    assert options_page.value.url == f"{EXTENSION_ORIGIN}/options/options.html"


@pytest.mark.parametrize("body, content_type, kind, title, detail_says", [
    (noise_png(900, 700), "image/png", "too-large", "Image too large", f"limit of {MAX_UPLOAD_BYTES} bytes"),
    (SVG, "image/svg+xml", "unsupported", "Not a supported image", "SVG is vector graphics"),
    (PHOTO[: len(PHOTO) // 3], "image/jpeg", "corrupt", "Image could not be read", "truncated"),
], ids=["413-too-large", "415-svg", "422-truncated-jpeg"])
def test_images_the_server_refuses(extension, site, timings, body, content_type, kind, title, detail_says):
    assert kind != "too-large" or len(body) > MAX_UPLOAD_BYTES
    page = show_image(extension, site, body, content_type, "image")

    root, message = check_and_wait_for_error(extension, page, timings, f"error: {kind}")

    assert root.get_attribute("data-deepfake-guard-error") == kind
    assert page.locator(f"{OVERLAY} header .label").inner_text() == title
    assert message  # our explanation, and below it the server's own detail
    assert detail_says in page.locator(f"{OVERLAY} .detail").inner_text()
    assert not root.get_attribute("data-deepfake-guard-verdict")


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory):
    """A server with the default upload limit (10 MB): a photo of a few MB reaches the app."""
    server = start_server(tmp_path_factory.mktemp("roomy-server"), API_KEY, extension_origins=EXTENSION_ORIGIN)
    yield server
    server.stop()


def _revoked_key(server) -> tuple[str, str]:
    """A stored key made and revoked with the CLI, as an operator would; its id and the key."""
    cli = Path(sys.executable).with_name("deepfake-guard")
    env = {**os.environ, "DFG_INSTANCE_DIR": str(server.instance_dir)}
    created = subprocess.run([str(cli), "keys", "create", "--name", "leaver (e2e)"], env=env, capture_output=True,
                             text=True, timeout=120, check=True)
    key_id = created.stderr.split("created key ", 1)[1].split()[0]
    subprocess.run([str(cli), "keys", "revoke", key_id], env=env, capture_output=True, timeout=120, check=True)
    return key_id, created.stdout.strip()


def test_a_revoked_key_on_a_photo_of_a_few_mb_is_named_not_a_server_failure(extension, roomy_server, site, timings):
    """Issue 29: the server refuses the key before reading the upload; that answer reaches the overlay."""
    key_id, key = _revoked_key(roomy_server)
    extension.configure(roomy_server.url, key)
    large = np.asarray(Image.fromarray(np.asarray(Image.open(io.BytesIO(PHOTO)))).resize((2400, 2400)))
    noise = np.random.default_rng(29).integers(-12, 13, large.shape)
    photo = jpeg(np.clip(large.astype(int) + noise, 0, 255).astype(np.uint8), quality=95)
    assert 2_000_000 < len(photo) < 10 * 1024 * 1024
    page = show_image(extension, site, photo, "image/jpeg", "large-photo.jpg")

    root, message = check_and_wait_for_error(extension, page, timings, "error: revoked key, photo of a few MB")

    assert root.get_attribute("data-deepfake-guard-error") == "revoked"
    text = page.locator(f"{OVERLAY} .panel").inner_text()
    assert "API key revoked" in text and "new enrolment code" in text and key_id in text
    assert "failed" not in text.lower()
