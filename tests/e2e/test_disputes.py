"""Disagree: the dispute reaches the server, and the overlay and the popup show it."""
from __future__ import annotations

import pytest

from tests.e2e.browser import OVERLAY, SCREENSHOTS, screenshot_overlay, wait_for_overlay
from tests.e2e.pages import open_photo_page

pytestmark = pytest.mark.e2e

COMMENT = "The light on her face matches the background; I think it is a real photo."


def test_disagree_reaches_the_server_and_the_overlay_and_popup_show_it(extension, dfg_server, site, timings):
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "before a dispute")
    check_id, verdict = root.get_attribute("data-deepfake-guard-check"), root.get_attribute("data-deepfake-guard-verdict")
    label = "fake" if verdict == "real" else "real"

    page.locator(f"{OVERLAY} button.disagree").click()
    choice = page.locator(f'{OVERLAY} input[name="label"][value="{label}"]')
    if verdict != "uncertain":
        assert choice.is_checked(), "the form suggests the opposite of the verdict"
    choice.check()
    page.locator(f"{OVERLAY} textarea").fill(COMMENT)
    screenshot_overlay(page, "#photo", "overlay-dispute-form")
    page.locator(f"{OVERLAY} button.send").click()

    page.locator(f'{OVERLAY}[data-deepfake-guard-dispute="{label}"]').wait_for(state="attached")
    review = page.locator(f"{OVERLAY} .review").inner_text()
    assert "Sent for review" in review and f"You said {label}" in review
    assert page.locator(f"{OVERLAY} button.disagree").count() == 0
    screenshot_overlay(page, "#photo", "overlay-dispute-sent")

    # NOTE: needs the server's dispute endpoint and the `dispute`/`review` members of GET /checks/{id}.
    on_server = dfg_server.get_check(check_id)
    assert on_server["dispute"]["label"] == label
    assert on_server["dispute"]["comment"] == COMMENT
    assert on_server["review"]["status"] == "queued"

    # The popup refreshes from the server: forget what the extension stored locally first.
    extension.worker.evaluate("""async id => {
        const { checks } = await chrome.storage.local.get("checks");
        await chrome.storage.local.set({ checks: checks.map(c => c.id === id ? { ...c, dispute: null, review: null } : c) });
    }""", check_id)
    popup = extension.open_page("popup")
    popup.locator("body[data-refreshed]").wait_for(state="attached")
    item = popup.locator(f'li[data-check-id="{check_id}"]')
    assert item.get_attribute("data-review-status") == "queued"
    assert item.locator(".review").inner_text() == f"You said {label}. Sent for review (queued)."
    popup.locator("body").screenshot(path=str(SCREENSHOTS / "popup-dispute.png"))


def test_disagree_without_a_choice_asks_for_one_on_an_uncertain_verdict(extension, forced_server, site, timings):
    server = forced_server("uncertain")
    extension.configure(server.url, server.api_key)
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "uncertain, before a dispute")

    page.locator(f"{OVERLAY} button.disagree").click()
    assert page.locator(f'{OVERLAY} input[name="label"]:checked').count() == 0  # no suggestion when uncertain
    page.locator(f"{OVERLAY} button.send").click()
    assert "Choose" in page.locator(f"{OVERLAY} .form-error").inner_text()
    assert server.get_check(root.get_attribute("data-deepfake-guard-check"))["dispute"] is None


@pytest.fixture(scope="module")
def forgetful_server(tmp_path_factory):
    """A server that keeps no checked image (DFG_IMAGE_RETENTION_HOURS=0): every dispute gets a 409 first."""
    from tests.e2e.browser import EXTENSION_ORIGIN
    from tests.e2e.conftest import API_KEY
    from tests.e2e.servers import start_server

    server = start_server(tmp_path_factory.mktemp("dfg-forgetful"), API_KEY, extension_origins=EXTENSION_ORIGIN,
                          image_retention_hours=0)
    yield server
    server.stop()


def test_disagree_re_sends_the_image_when_the_server_no_longer_holds_it(extension, forgetful_server, site, timings):
    extension.configure(forgetful_server.url, forgetful_server.api_key)
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "before a dispute the server cannot hold")
    check_id = root.get_attribute("data-deepfake-guard-check")
    sha256 = forgetful_server.get_check(check_id)["image"]["sha256"]
    assert not list((forgetful_server.instance_dir / "images").rglob(f"{sha256}*"))  # the server kept nothing

    page.locator(f"{OVERLAY} button.disagree").click()
    page.locator(f'{OVERLAY} input[name="label"][value="real"]').check()
    page.locator(f"{OVERLAY} button.send").click()
    page.locator(f'{OVERLAY}[data-deepfake-guard-dispute="real"]').wait_for(state="attached")

    assert forgetful_server.get_check(check_id)["dispute"]["label"] == "real"
    kept = list((forgetful_server.instance_dir / "images" / "kept").rglob(f"{sha256}*"))
    assert len(kept) == 1, "the re-sent image is kept for the reviewers"
    log = forgetful_server.log_path.read_text()
    assert f"POST /api/v1/checks/{check_id}/disputes 409" in log, "the first, JSON-only attempt was refused"
    assert f"POST /api/v1/checks/{check_id}/disputes 202" in log
