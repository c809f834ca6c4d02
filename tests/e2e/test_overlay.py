"""The overlay itself: each verdict's look, staying on the image, the keyboard, closing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import OVERLAY, screenshot_overlay, wait_for_overlay
from tests.e2e.pages import ASTRONAUT, open_photo_page

pytestmark = pytest.mark.e2e

LABELS = {"fake": "Likely fake", "real": "Likely real", "uncertain": "Uncertain"}


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def panel_style(page) -> dict:
    return page.locator(f"{OVERLAY} .panel").evaluate(
        "panel => { const s = getComputedStyle(panel); return { border: s.borderTopStyle, color: s.borderLeftColor }; }")


@pytest.mark.parametrize("verdict", ["fake", "real", "uncertain"])
def test_each_verdict_has_its_own_look(extension, forced_server, site, timings, verdict):
    server = forced_server(verdict)  # a model copy whose threshold and band force this verdict
    extension.configure(server.url, server.api_key)
    page = open_photo_page(extension, site)

    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, f"forced verdict: {verdict}")

    assert root.get_attribute("data-deepfake-guard-verdict") == verdict
    assert page.locator(f"{OVERLAY} header .label").inner_text() == LABELS[verdict]
    assert "tone-" + verdict in page.locator(f"{OVERLAY} .frame").get_attribute("class")
    style = panel_style(page)
    assert style["border"] == ("dashed" if verdict == "uncertain" else "none")  # uncertain stands apart
    assert style["color"] == {"fake": "rgb(198, 40, 40)", "real": "rgb(46, 125, 50)", "uncertain": "rgb(249, 168, 37)"}[verdict]
    faces = page.locator(f"{OVERLAY} .face")
    assert faces.count() >= 1
    panel = page.locator(f"{OVERLAY} .panel").bounding_box()
    for index in range(faces.count()):
        assert not overlaps(panel, faces.nth(index).bounding_box()), "the panel hides a face"
    screenshot_overlay(page, "#photo", f"overlay-{verdict}")


def test_overlay_stays_on_the_image(extension, site, timings):
    site.add("/astronaut.jpg", ASTRONAUT, "image/jpeg")
    page = extension.context.new_page()
    page.goto(site.add("/", """<div style="height: 300px">Header</div>
        <div id="scroller" style="height: 420px; overflow: auto; border: 1px solid #999; margin-left: 30px">
          <div style="height: 150px">Above</div>
          <img id="photo" src="/astronaut.jpg" style="width: 320px; height: 320px; padding: 6px; border: 4px solid #ccc">
          <div style="height: 900px">Below</div>
        </div><div style="height: 1500px"></div>"""))
    page.locator("#photo").evaluate("image => image.decode()")
    clicked = extension.dispatch_check(page, "#photo")
    wait_for_overlay(page, clicked, timings, "image in a scrolling box")

    def content_box():
        return page.locator("#photo").evaluate("""image => { const r = image.getBoundingClientRect();
            return { x: r.x + 10, y: r.y + 10, width: r.width - 20, height: r.height - 20 }; }""")  # less border + padding

    def overlay_matches():
        page.wait_for_timeout(100)  # the overlay moves on the next animation frame
        assert page.locator(f"{OVERLAY} .frame").bounding_box() == pytest.approx(content_box(), abs=1)

    def face_width():
        return page.locator(f"{OVERLAY} .face").first.bounding_box()["width"]

    overlay_matches()
    width_before = face_width()
    page.mouse.wheel(0, 200)                                     # the window scrolls
    overlay_matches()
    page.locator("#scroller").evaluate("box => box.scrollTop = 120")  # the inner box scrolls
    overlay_matches()
    page.locator("#photo").evaluate("image => { image.style.width = '480px'; image.style.height = '480px'; }")
    overlay_matches()
    assert face_width() == pytest.approx(width_before * 1.5, rel=0.02)  # face boxes scale with the image
    # object-fit: contain draws the square photo in the middle of a wide box; faces follow the picture.
    page.locator("#photo").evaluate("image => { image.style.width = '640px'; image.style.height = '320px'; "
                                    "image.style.objectFit = 'contain'; }")
    overlay_matches()
    face = page.locator(f"{OVERLAY} .face").first.bounding_box()
    picture_left = content_box()["x"] + (640 - 320) / 2
    assert face["x"] >= picture_left and face["width"] == pytest.approx(width_before, rel=0.02)
    page.set_viewport_size({"width": 700, "height": 600})      # the window resizes
    overlay_matches()

    page.locator("#photo").evaluate("image => image.remove()")  # the image goes: so does its overlay
    expect(page.locator(OVERLAY)).to_have_count(0)


def test_overlay_works_from_the_keyboard_and_closes(extension, site, timings):
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    wait_for_overlay(page, clicked, timings, "keyboard")

    def focused() -> str:
        return page.evaluate("""() => { const root = document.querySelector('deepfake-guard-overlay').shadowRoot;
            const element = root.activeElement; return element ? element.classList[0] || element.tagName : ""; }""")

    assert focused() == "panel"  # the result takes focus, so Tab goes straight into it
    for _ in range(3):
        page.keyboard.press("Tab")
        if focused() == "disagree":
            break
    assert focused() == "disagree"
    page.keyboard.press("Enter")
    assert page.locator(f"{OVERLAY} form.dispute").is_visible()
    page.keyboard.press("Escape")                              # Escape closes the form first…
    expect(page.locator(f"{OVERLAY} form.dispute")).to_have_count(0)
    assert focused() == "disagree"
    page.keyboard.press("Escape")                              # …then the overlay
    expect(page.locator(OVERLAY)).to_have_count(0)

    # Checking the same image twice gives one overlay, not two; then the close button.
    clicked = extension.dispatch_check(page, "#photo")
    first = wait_for_overlay(page, clicked, timings, "keyboard: check again").get_attribute("data-deepfake-guard-check")
    extension.dispatch_check(page, "#photo")
    page.wait_for_function("""first => [...document.querySelectorAll('deepfake-guard-overlay')].some(
        overlay => overlay.dataset.deepfakeGuardCheck && overlay.dataset.deepfakeGuardCheck !== first)""", arg=first)
    expect(page.locator(OVERLAY)).to_have_count(1)
    page.locator(f"{OVERLAY} button.close").click()
    expect(page.locator(OVERLAY)).to_have_count(0)


def test_page_css_does_not_reach_the_overlay(extension, site, timings):
    page = open_photo_page(extension, site)
    page.add_style_tag(content="* { font-size: 40px !important; color: lime !important; display: block !important; }"
                               " section, button { background: red !important; }")
    clicked = extension.dispatch_check(page, "#photo")
    wait_for_overlay(page, clicked, timings, "hostile page CSS")
    label = page.locator(f"{OVERLAY} header .label")
    assert label.evaluate("e => getComputedStyle(e).fontSize") == "15px"
    assert page.locator(f"{OVERLAY} button.disagree").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
