"""Failures show a clear message on the image: server down, wrong key, and images the server refuses."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.e2e.browser import EXTENSION_ORIGIN, OVERLAY, screenshot_overlay, wait_for_overlay
from tests.e2e.conftest import MAX_UPLOAD_BYTES
from tests.e2e.servers import free_port
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
