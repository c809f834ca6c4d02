"""The context-menu path: click → the worker posts the image's bytes → the overlay shows the server's verdict."""
from __future__ import annotations

import hashlib
import math

import pytest

from tests.e2e.browser import OVERLAY, screenshot_overlay, wait_for_overlay
from tests.e2e.pages import ASTRONAUT, COFFEE, open_photo_page

pytestmark = pytest.mark.e2e

SHOWN_SIZE = 384  # the page shows the 512-pixel astronaut at 384 CSS pixels


def percent(probability: float) -> str:
    return f"{math.floor(probability * 100 + 0.5)}%"  # JavaScript's Math.round, not Python's


def test_menu_click_sends_the_image_bytes_and_shows_the_servers_verdict(extension, dfg_server, site, timings):
    page = open_photo_page(extension, site, ASTRONAUT, "astronaut.jpg", SHOWN_SIZE, SHOWN_SIZE)

    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "menu event (image with a face)")

    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["image"]["sha256"] == hashlib.sha256(ASTRONAUT).hexdigest()  # the served bytes, unchanged
    assert (check["source_url"], check["page_url"]) == (site.url("/astronaut.jpg"), site.url("/"))
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]
    assert page.locator(f"{OVERLAY} .percent").inner_text() == percent(check["fake_probability"])
    assert page.locator(f"{OVERLAY} .note").count() == 0

    # The overlay covers the image, and each face box is the server's box scaled to the shown size.
    photo = page.locator("#photo").bounding_box()
    frame = page.locator(f"{OVERLAY} .frame").bounding_box()
    assert frame == pytest.approx(photo, abs=1)
    assert check["scope"] == "faces" and check["faces"]
    drawn = page.locator(f"{OVERLAY} .face")
    assert drawn.count() == len(check["faces"])
    scale = SHOWN_SIZE / check["image"]["width"]
    for index, face in enumerate(check["faces"]):
        x, y, w, h = face["box"]
        expected = {"x": photo["x"] + x * scale, "y": photo["y"] + y * scale, "width": w * scale, "height": h * scale}
        assert drawn.nth(index).bounding_box() == pytest.approx(expected, abs=1.5)
        assert drawn.nth(index).locator("span").inner_text() == percent(face["fake_probability"])
        assert drawn.nth(index).locator("button.why").inner_text() == "Why?"

    # The worker fetched the image itself: no Referer, so the page's address did not leak to the image host.
    worker_requests = [seen for seen in site.seen("/astronaut.jpg") if "Referer" not in seen.headers]
    assert worker_requests and worker_requests[0].status == 200


def test_image_without_a_face_shows_the_whole_image_note(extension, dfg_server, site, timings):
    page = open_photo_page(extension, site, COFFEE, "coffee.jpg", 450, 300)

    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "menu event (no face)")

    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["scope"] == "no_face"
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]
    assert "No face found" in page.locator(f"{OVERLAY} .note").inner_text()
    assert page.locator(f"{OVERLAY} .face").count() == 0
    screenshot_overlay(page, "#photo", "overlay-no-face")


def test_native_right_click_menu(xvfb_browser, dfg_server, site, timings):
    """A real right-click on the real menu: headed Chromium on Xvfb, driven with xdotool."""
    screen, extension = xvfb_browser
    page = open_photo_page(extension, site, ASTRONAUT, "astronaut.jpg", SHOWN_SIZE, SHOWN_SIZE)

    screen.right_click(page, "#photo")
    screen.save("native-menu")
    clicked = screen.choose_extension_item()
    root = wait_for_overlay(page, clicked, timings, "native right-click menu (Xvfb)")

    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["image"]["sha256"] == hashlib.sha256(ASTRONAUT).hexdigest()
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]
    assert page.locator(f"{OVERLAY} .percent").inner_text() == percent(check["fake_probability"])
