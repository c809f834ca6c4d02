"""The page scan in real Chromium: a generated page of 30 images checked from the popup, each distinct
image sent once, badges that match the server's stored verdicts, the lazy group only after scrolling,
429 Retry-After honoured, Stop honoured, refused where a scan must never run, and the allow-list."""
from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.browser import EXTENSION_ORIGIN, OVERLAY, SCREENSHOTS
from tests.e2e.conftest import API_KEY, PAGE_SCAN
from tests.e2e.scan_pages import build_scan_page
from tests.e2e.servers import start_server
from tests.images import astronaut, jpeg

pytestmark = pytest.mark.e2e

SCAN = "deepfake-guard-scan"
SCAN_TIMEOUT_MS = 90_000


def tab_of(extension, page) -> dict:
    tab = extension.worker.evaluate("async url => (await chrome.tabs.query({})).find(tab => tab.url === url)", page.url)
    assert tab, f"no tab shows {page.url}"
    return tab


def popup_for(extension, tab: dict):
    """The popup as it opens over `tab` (tests open it as a tab of its own, so it is told which)."""
    popup = extension.context.new_page()
    popup.goto(f"{EXTENSION_ORIGIN}/popup/popup.html#tab={tab['id']}")
    popup.locator("body[data-scan-ready]").wait_for(state="attached")
    return popup


def figures(page) -> dict:
    return page.locator(SCAN).evaluate("host => ({ ...host.dataset })")


def wait_until_checked(page, found: int) -> None:
    """Until the scan has found `found` distinct image URLs and has an answer for each."""
    try:
        page.wait_for_function("""found => { const host = document.querySelector('deepfake-guard-scan');
            return host && Number(host.dataset.found) === found && Number(host.dataset.checked) === found; }""",
                               arg=found, timeout=SCAN_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        shown = page.locator(SCAN).evaluate("host => ({ ...host.dataset })") if page.locator(SCAN).count() else None
        loaded = page.evaluate("[...document.images].filter(image => image.complete && image.naturalWidth).length")
        raise AssertionError(f"the scan did not answer {found} image URLs in time; the page shows {shown}, "
                             f"{loaded} images loaded, scrolled to {page.evaluate('scrollY')}") from None


def stored_checks(server, page_url: str) -> list[dict]:
    """Every check the server stored for this page (a cache hit is stored too): one per check request."""
    from sqlalchemy import select

    from core.store import Check, Store

    database = Store.for_instance(None, server.instance_dir)
    with database.session() as session:
        rows = session.scalars(select(Check).where(Check.page_url == page_url)).all()
        checks = [{"id": row.id, "sha256": row.sha256, "source_url": row.source_url, "verdict": row.verdict,
                   "scope": row.scope} for row in rows]
    database.engine.dispose()
    return checks


def worker_fetches(site, path: str) -> list:
    """Requests for `path` from the extension's worker (the page's own loads carry a Referer)."""
    return [seen for seen in site.seen(path) if "Referer" not in seen.headers]


def expected_badges(layout, checks: list[dict], paths: set[str]) -> list[str]:
    """The check id of each shown image in `paths` whose check found a face: one badge each."""
    by_sha = {check["sha256"]: check for check in checks}
    return sorted(by_sha[layout.sha256(path)]["id"] for _, path in layout.shown
                  if path in paths and by_sha[layout.sha256(path)]["scope"] == "faces")


def badges(page) -> list[dict]:
    return page.locator(f"{SCAN} .badge").evaluate_all(
        "badges => badges.map(badge => ({ ...badge.dataset, text: badge.textContent,"
        " hidden: badge.classList.contains('hidden') }))")


def test_scan_checks_each_distinct_image_once_and_badges_match_the_server(extension, dfg_server, site):
    page_url, layout = build_scan_page(site)
    page = extension.context.new_page()
    page.goto(page_url)
    page.wait_for_function("[...document.images].filter(i => i.loading !== 'lazy').every(i => i.complete)")
    tab = tab_of(extension, page)

    popup = popup_for(extension, tab)
    expect(popup.locator("#scan-start")).to_have_text("Check all images on this page")
    started = time.perf_counter()
    popup.locator("#scan-start").click()
    page.bring_to_front()  # a tab in the background gets no animation frames to place badges
    wait_until_checked(page, len(layout.eager_paths))
    to_all_badges = time.perf_counter() - started
    popup.reload()
    popup.locator("body[data-scan-ready]").wait_for(state="attached")
    expect(popup.locator("#scan-stop")).to_be_visible()
    assert f"checked {len(layout.eager_paths)} of {len(layout.eager_paths)}" in popup.locator("#scan-status").inner_text()
    popup.close()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "page-scan.png"))

    # Nothing below the fold yet: the lazy images were neither loaded nor sent.
    assert all(not worker_fetches(site, path) for path in layout.lazy)
    scrolled = time.perf_counter()
    page.locator("#end").scroll_into_view_if_needed()
    wait_until_checked(page, len(layout.checked_paths))
    lazy_badges = time.perf_counter() - scrolled
    shown = figures(page)
    images_on_page = page.evaluate("document.images.length")

    checks = stored_checks(dfg_server, page_url)
    # Each distinct picture checked exactly once: one check per distinct bytes, none for icons or copies.
    expected_bytes = {layout.sha256(path) for path in layout.checked_paths}
    assert sorted(check["sha256"] for check in checks) == sorted(expected_bytes)
    assert {check["source_url"] for check in checks}.isdisjoint({site.url(path) for path in layout.tiny})
    for path in layout.tiny + [layout.picture_fallback]:
        assert not worker_fetches(site, path), f"{path} should not have been read by the worker"
    for path in layout.checked_paths - {layout.hotlink}:
        assert len(worker_fetches(site, path)) <= 1, f"{path} was downloaded more than once"
    # The hotlink-protected image: the worker was refused, the page read it.
    assert [seen.status for seen in worker_fetches(site, layout.hotlink)] == [403]
    assert layout.sha256(layout.hotlink) in {check["sha256"] for check in checks}
    # <picture>: the <source> that is displayed, not the <img src> fallback.
    assert site.url("/img/picture-face.jpg") in {check["source_url"] for check in checks}

    # One badge per shown image whose check found a face, none for no-face answers, each as the server says.
    drawn = badges(page)
    assert sorted(badge["checkId"] for badge in drawn) == expected_badges(layout, checks, layout.checked_paths)
    assert any(check["scope"] == "no_face" for check in checks) and any(check["scope"] == "faces" for check in checks)
    for badge in drawn:
        stored = dfg_server.get_check(badge["checkId"])
        assert badge["verdict"] == stored["verdict"] and stored["scope"] == "faces"
        assert badge["text"].startswith({"fake": "Fake", "real": "Real", "uncertain": "Uncertain"}[stored["verdict"]])

    # A badge opens the full overlay with that check's result, without checking again.
    visible = next(badge for badge in drawn if not badge["hidden"])
    page.locator(f'{SCAN} .badge[data-check-id="{visible["checkId"]}"]').first.click()
    root = page.locator(f'{OVERLAY}[data-deepfake-guard-state="done"]')
    expect(root).to_have_attribute("data-deepfake-guard-check", visible["checkId"])
    assert page.locator(f"{OVERLAY} button.disagree").is_visible()
    assert len(stored_checks(dfg_server, page_url)) == len(checks)

    # While the scan is on, an image added to the page (infinite scroll) is checked too.
    site.add("/more/face.jpg", jpeg(astronaut(), quality=54), "image/jpeg")
    page.evaluate("""() => { const image = new Image(300, 300); image.src = '/more/face.jpg';
        document.getElementById('end').append(image); }""")
    wait_until_checked(page, len(layout.checked_paths) + 1)
    checked_on_the_page = len(checks)
    checks = stored_checks(dfg_server, page_url)
    assert len(checks) == checked_on_the_page + 1
    assert site.url("/more/face.jpg") in {check["source_url"] for check in checks}

    # Stop: an image added afterwards is never sent.
    page.locator(f"{SCAN} .chip button.stop").click()
    expect(page.locator(SCAN)).to_have_attribute("data-scan-state", "stopped")
    site.add("/late/face.jpg", jpeg(astronaut(), quality=55), "image/jpeg")
    page.evaluate("""() => { const image = new Image(300, 300); image.id = 'late'; image.src = '/late/face.jpg';
        document.body.prepend(image); return image.decode(); }""")
    page.wait_for_timeout(1500)
    assert not worker_fetches(site, "/late/face.jpg")
    assert len(stored_checks(dfg_server, page_url)) == len(checks)
    assert "Scan stopped" in page.locator(f"{SCAN} .chip").inner_text()

    assert images_on_page == 30
    assert int(shown["images"]) == 30 - len(layout.tiny) and int(shown["skippedTiny"]) == len(layout.tiny)
    assert int(shown["deduplicatedByUrl"]) == 2 and int(shown["deduplicatedByBytes"]) == 2
    assert int(shown["errors"]) == 0
    PAGE_SCAN.append(("30-image page (scan from the popup)", {
        "images on the page": images_on_page, "checked (server requests)": checked_on_the_page,
        "distinct URLs": int(shown["found"]),
        "deduplicated by URL": int(shown["deduplicatedByUrl"]), "by bytes": int(shown["deduplicatedByBytes"]),
        "skipped tiny": int(shown["skippedTiny"]), "429s": int(shown["rateLimited"]),
        "scan start to all badges above the fold": f"{to_all_badges:.1f} s",
        "scroll to the lazy group's badges": f"{lazy_badges:.1f} s"}))


# Two ways a server answers 429 with Retry-After: flask-limiter's per-key rate (in the app's log), and
# the front's cap on one key's requests in flight (`too-many-in-flight`, Retry-After: 1).
LIMITS = {
    "rate": ("3 checks/s per key", {"rate_limit_per_key": "3/second", "max_in_flight_per_key": 0}),
    "in-flight": ("1 request in flight per key", {"max_in_flight_per_key": 1}),
}


@pytest.fixture(params=list(LIMITS))
def limited_server(request, tmp_path):
    """A server whose per-key limit a scan with 4 checks in flight must meet."""
    label, settings = LIMITS[request.param]
    server = start_server(tmp_path / "limited", API_KEY, extension_origins=EXTENSION_ORIGIN, **settings)
    server.limit = request.param
    server.label = label
    yield server
    server.stop()


def test_scan_waits_out_429s_and_still_badges_every_image(extension, limited_server, site):
    extension.configure(limited_server.url, limited_server.api_key)
    extension.set_storage(scanInFlight=4)
    page_url, layout = build_scan_page(site)
    page = extension.context.new_page()
    page.goto(page_url)
    page.wait_for_function("[...document.images].filter(i => i.loading !== 'lazy').every(i => i.complete)")
    tab = tab_of(extension, page)
    answers = []
    extension.context.on("response", lambda response: answers.append((response.status, response.header_value("retry-after")))
                         if response.url == f"{limited_server.url}/api/v1/checks" else None)

    started = time.perf_counter()
    info = {"menuItemId": "scan-page", "editable": False, "frameId": 0, "pageUrl": page.url}
    extension.worker.evaluate("([info, tab]) => chrome.contextMenus.onClicked.dispatch(info, tab)", [info, tab])
    wait_until_checked(page, len(layout.eager_paths))
    seconds = time.perf_counter() - started

    shown = figures(page)
    checks = stored_checks(limited_server, page_url)
    assert int(shown["errors"]) == 0, "an image ended without an answer"
    assert sorted(check["sha256"] for check in checks) == sorted({layout.sha256(path) for path in layout.eager_paths})
    assert int(shown["rateLimited"]) > 0, "the server never answered 429: the limit did not bite"
    refused = [retry_after for status, retry_after in answers if status == 429]
    assert len(refused) == int(shown["rateLimited"]) and [status for status, _ in answers].count(200) == len(checks)
    assert all(retry_after is not None and int(retry_after) >= 0 for retry_after in refused), refused  # seconds
    if limited_server.limit == "rate":  # the app's own 429s are in its log; the front's are not
        logged = [json.loads(line) for line in limited_server.log_path.read_text().splitlines() if line.startswith("{")]
        assert any(entry.get("path") == "/api/v1/checks" and entry.get("status") == 429 for entry in logged), \
            "the server's log shows no 429"
    assert sorted(badge["checkId"] for badge in badges(page)) == expected_badges(layout, checks, layout.eager_paths)
    PAGE_SCAN.append((f"16 images above the fold (14 URLs), {limited_server.label}, 4 in flight", {
        "checked": len(checks), "429s": int(shown["rateLimited"]), "scan start to all badges": f"{seconds:.1f} s"}))


def test_no_scan_in_private_windows_or_on_pages_that_are_not_web_pages(extension, dfg_server, site):
    options = extension.open_page("options")   # an extension's page: not http(s)
    tab = tab_of(extension, options)
    popup = popup_for(extension, tab)
    expect(popup.locator("#scan-status")).to_contain_text("Only web pages (http:// or https://) can be scanned")
    assert popup.locator("#scan-start").is_disabled()

    # A private window's tab, as the menu would report it (this profile opens none): refused before any script runs.
    page = extension.context.new_page()
    page.goto(site.add("/", '<img id="photo" src="/a.jpg" width="300" height="300">'))
    tab = {**tab_of(extension, page), "incognito": True}
    info = {"menuItemId": "scan-page", "editable": False, "frameId": 0, "pageUrl": page.url}
    extension.worker.evaluate("([info, tab]) => chrome.contextMenus.onClicked.dispatch(info, tab)", [info, tab])
    title = extension.worker.evaluate("""async tabId => { for (let i = 0; i < 50; i++) {
        const title = await chrome.action.getTitle({ tabId }); if (title.includes('private')) return title;
        await new Promise(r => setTimeout(r, 100)); } return ''; }""", tab["id"])
    assert "never scans pages in private (incognito) windows" in title
    assert page.locator(SCAN).count() == 0


def test_sites_in_the_allow_list_are_scanned_on_load_and_others_are_not(extension, dfg_server, site, other_site):
    options = extension.open_page("options")
    options.locator("body[data-loaded]").wait_for(state="attached")
    assert options.locator("#scan-in-flight").input_value() == "2"
    options.locator("#scan-allow-list").fill(f"{site.origin}/any/path\n\n")
    options.locator("#scan-in-flight").fill("3")
    options.locator("#scan-save").click()
    expect(options.locator("#scan-status")).to_have_text("Saved.")
    assert extension.storage("scanAllowList", "scanInFlight") == {"scanAllowList": [site.origin], "scanInFlight": 3}
    options.locator("#scan-allow-list").fill("ftp://files.example")
    options.locator("#scan-save").click()
    expect(options.locator("#scan-status")).to_contain_text("Only http:// and https:// sites can be scanned")

    photo = jpeg(astronaut(), quality=58)
    for where in (site, other_site):
        where.add("/photo.jpg", photo, "image/jpeg")
        where.add("/", '<h1>Front page</h1><img id="photo" src="/photo.jpg" width="300" height="300">')
    listed = extension.context.new_page()
    listed.goto(site.url("/"))
    wait_until_checked(listed, 1)
    assert len(worker_fetches(site, "/photo.jpg")) == 1
    elsewhere = extension.context.new_page()
    elsewhere.goto(other_site.url("/"))
    elsewhere.wait_for_timeout(1500)
    assert elsewhere.locator(SCAN).count() == 0 and not worker_fetches(other_site, "/photo.jpg")


def test_native_menu_item_scans_the_page(xvfb_browser, dfg_server, site):
    """"Check all images on this page" from a real right-click (headed Chromium on Xvfb, xdotool)."""
    screen, extension = xvfb_browser
    photo = jpeg(astronaut(), quality=57)
    site.add("/photo.jpg", photo, "image/jpeg")
    site.add("/second.jpg", jpeg(astronaut(), quality=56), "image/jpeg")
    page = extension.context.new_page()
    page.goto(site.add("/", '<p id="text" style="height: 60px">Two photos:</p>'
                            '<img id="photo" src="/photo.jpg" width="300" height="300">'
                            '<img id="second" src="/second.jpg" width="300" height="300">'))
    page.wait_for_function("[...document.images].every(image => image.complete)")

    screen.right_click(page, "#text")       # the page's menu: the scan item is not on images
    screen.save("native-page-menu")
    screen.choose_extension_item(ups=3)
    wait_until_checked(page, 2)
    assert page.locator(OVERLAY).count() == 0  # a scan, not a check of the clicked image
    assert len(badges(page)) == 2
