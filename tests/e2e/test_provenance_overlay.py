"""Provenance in the browser: the overlay and the popup show what an image's Content Credentials declare,
with a look of their own for declared AI and for credentials changed after signing."""
from __future__ import annotations

import pytest

from tests.e2e.browser import OVERLAY, SCREENSHOTS, screenshot_overlay, wait_for_overlay
from tests.e2e.pages import open_photo_page
from tests.provenance_files import GENERATOR, c2pa_signed, fixture

pytestmark = pytest.mark.e2e

DECLARED_LINE = (f"Content Credentials: created by {GENERATOR} 2.1, signed by C2PA Test Signing Cert, "
                 "declares AI-generated")


def _line_style(page) -> dict:
    return page.locator(f"{OVERLAY} .provenance").evaluate(
        "line => { const s = getComputedStyle(line); return { background: s.backgroundColor, border: s.borderTopStyle }; }")


def test_the_overlay_shows_a_declared_ai_image_and_a_changed_one(extension, dfg_server, site, other_site, timings):
    page = open_photo_page(extension, site, c2pa_signed("JPEG", size=384), "generated.jpg")
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "provenance: declared AI")
    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["verdict"] == "fake" and check["reason"] == "declared"
    assert root.get_attribute("data-deepfake-guard-verdict") == "fake"
    assert page.locator(f"{OVERLAY} header .label").inner_text() == "Declared AI-generated"
    line = page.locator(f"{OVERLAY} .provenance")
    assert line.get_attribute("data-provenance") == "declared"
    assert line.inner_text().startswith(DECLARED_LINE) and line.inner_text() == check["provenance"]["summary"]
    declared_style = _line_style(page)
    screenshot_overlay(page, "#photo", "overlay-provenance-declared")

    changed = open_photo_page(extension, other_site, fixture("XCA.jpg"), "edited.jpg")
    clicked = extension.dispatch_check(changed, "#photo")
    root = wait_for_overlay(changed, clicked, timings, "provenance: changed after signing")
    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["reason"] == "model" and check["provenance"]["changed_after_signing"]
    line = changed.locator(f"{OVERLAY} .provenance")
    assert line.get_attribute("data-provenance") == "changed" and "INVALID: changed after signing" in line.inner_text()
    changed_style = _line_style(changed)
    assert changed_style != declared_style and changed_style["border"] == "dashed"   # each has its own look
    screenshot_overlay(changed, "#photo", "overlay-provenance-changed")

    popup = extension.open_page("popup")
    popup.locator("body[data-refreshed]").wait_for(state="attached")
    lines = popup.locator("li .provenance")
    assert [lines.nth(i).get_attribute("data-provenance") for i in range(lines.count())] == ["changed", "declared"]
    assert lines.nth(1).inner_text().startswith(DECLARED_LINE)
    assert popup.locator("li").nth(1).locator(".verdict").inner_text() == "Declared AI-generated"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    popup.locator("body").screenshot(path=str(SCREENSHOTS / "popup-provenance.png"))
