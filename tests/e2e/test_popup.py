"""The popup's "my checks": thumbnail, verdict, time and review status, newest first, capped."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import SCREENSHOTS, wait_for_overlay
from tests.e2e.pages import COFFEE, open_photo_page
from tests.images import astronaut, jpeg

pytestmark = pytest.mark.e2e

HISTORY_LIMIT = 50  # extension/lib/history.js


def test_popup_lists_my_checks_newest_first(extension, dfg_server, site, other_site, timings):
    first = open_photo_page(extension, site)
    clicked = extension.dispatch_check(first, "#photo")
    first_id = wait_for_overlay(first, clicked, timings, "popup: first check").get_attribute("data-deepfake-guard-check")
    second = open_photo_page(extension, other_site, COFFEE, "coffee.jpg", 300, 200)
    clicked = extension.dispatch_check(second, "#photo")
    second_id = wait_for_overlay(second, clicked, timings, "popup: second check").get_attribute("data-deepfake-guard-check")

    popup = extension.open_page("popup")
    popup.locator("body[data-refreshed]").wait_for(state="attached")

    items = popup.locator("li")
    assert [items.nth(i).get_attribute("data-check-id") for i in range(items.count())] == [second_id, first_id]
    for index, check_id in enumerate([second_id, first_id]):
        check = dfg_server.get_check(check_id)
        item = items.nth(index)
        assert item.get_attribute("data-verdict") == check["verdict"]
        assert item.locator(".verdict").inner_text() == {"fake": "Likely fake", "real": "Likely real",
                                                         "uncertain": "Uncertain"}[check["verdict"]]
        assert item.locator("time").inner_text() == "just now"
        assert item.locator("img.thumb").get_attribute("src").startswith("data:image/jpeg;base64,")
        assert item.locator(".thumb").evaluate("image => image.naturalWidth") == 96  # the longer side
        assert item.get_attribute("data-review-status") == "none"
    assert items.nth(0).locator(".site").inner_text() == other_site.url("/").split("//")[1].rstrip("/")
    assert popup.locator("#status").is_hidden()  # the server answered: no warning
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    popup.locator("body").screenshot(path=str(SCREENSHOTS / "popup.png"))

    popup.locator("#clear").click()
    expect(popup.locator("li")).to_have_count(0)
    expect(popup.locator("#empty")).to_be_visible()
    assert extension.storage("checks")["checks"] == []


def test_history_is_capped(extension, site, timings):
    old = [{"id": f"old-{i}", "verdict": "real", "fake_probability": 0.1, "scope": "faces", "faces": 1,
            "model_version": "old", "page_url": None, "source_url": None, "thumbnail": None,
            "dispute": None, "review": {"status": "relabeled", "label": "real"}, "checked_at": 0}
           for i in range(HISTORY_LIMIT)]
    extension.set_storage(checks=old)
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    overlay = wait_for_overlay(page, clicked, timings, "popup: check with a full history")
    new_id = overlay.get_attribute("data-deepfake-guard-check")

    checks = extension.storage("checks")["checks"]
    assert len(checks) == HISTORY_LIMIT
    assert checks[0]["id"] == new_id
    assert checks[-1]["id"] == f"old-{HISTORY_LIMIT - 2}"  # the oldest one went


def test_popup_says_when_the_server_cannot_be_reached(extension, dfg_server, site, timings):
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    wait_for_overlay(page, clicked, timings, "popup: check before the server goes away")
    extension.configure("http://127.0.0.1:9", dfg_server.api_key)  # the discard port: nothing answers

    popup = extension.open_page("popup")
    popup.locator("body[data-refreshed]").wait_for(state="attached")

    assert popup.locator("li").count() == 1  # the saved result is still there
    assert "Showing saved results. Can't reach the Deepfake Guard server" in popup.locator("#status").inner_text()


def set_review(server, check_id: str, **fields) -> None:
    """Write what the review sync would write (Label Studio is outside this test): task sent, label agreed."""
    from sqlalchemy import select

    from core.store import ReviewItem, Store

    database = Store.for_instance(None, server.instance_dir)
    with database.session() as session:
        item = session.scalars(select(ReviewItem).where(ReviewItem.check_id == check_id)).one()
        for name, value in fields.items():
            setattr(item, name, value)
    database.engine.dispose()


def test_popup_follows_the_review_of_an_uncertain_check(extension, forced_server, site, timings):
    server = forced_server("uncertain")  # the server queues uncertain verdicts for review by itself
    extension.configure(server.url, server.api_key)
    photo = jpeg(astronaut(), quality=77)  # bytes of its own: the server reviews each picture once
    page = open_photo_page(extension, site, photo, "review.jpg")
    clicked = extension.dispatch_check(page, "#photo")
    check_id = wait_for_overlay(page, clicked, timings, "popup: uncertain check").get_attribute("data-deepfake-guard-check")

    def review_in_popup() -> tuple[str, str]:
        popup = extension.open_page("popup")
        popup.locator("body[data-refreshed]").wait_for(state="attached")
        item = popup.locator(f'li[data-check-id="{check_id}"]')
        shown = item.get_attribute("data-review-status"), item.locator(".review").inner_text()
        popup.close()
        return shown

    assert review_in_popup() == ("queued", "Queued for human review.")
    set_review(server, check_id, push_state="sent")
    assert review_in_popup() == ("in_review", "In review.")
    set_review(server, check_id, label="fake")
    assert review_in_popup() == ("relabeled", "Reviewers relabeled it as fake.")
