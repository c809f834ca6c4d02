"""Debian's Chromium with the unpacked extension loaded, and what the tests do with it."""
from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Playwright, Worker

REPO = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO / "extension"
# Fixed by the public key in manifest.json `key` (test_packaging checks the two agree).
EXTENSION_ID = "bpcgbinlbfkjbaoaocmeppkgpmbpaadj"
EXTENSION_ORIGIN = f"chrome-extension://{EXTENSION_ID}"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
OVERLAY = "deepfake-guard-overlay"
OVERLAY_TIMEOUT_MS = 30_000

# Without the background-networking flags Chromium keeps dialing out, and this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def launch(playwright: Playwright, user_data_dir: Path, headless: bool = True, env: dict | None = None,
           extra_args: tuple[str, ...] = (), extension_dir: Path = EXTENSION_DIR) -> BrowserContext:
    """A persistent context (extensions need one) in Debian's Chromium, with the extension loaded."""
    options = {"viewport": {"width": 1100, "height": 800}} if headless else {"no_viewport": True}
    loading = [f"--load-extension={extension_dir}", f"--disable-extensions-except={extension_dir}"]
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=headless, env=env,
        args=loading + CHROMIUM_ARGS + list(extra_args), **options)


class Extension:
    """The loaded extension: its service worker, its storage, its pages, and checks started from it."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.worker = self._find_worker()
        self._wait_for_policy_copy()

    def _wait_for_policy_copy(self) -> None:
        """Wait until the worker has read the organisation's policy once (lib/settings.js keeps a copy),
        as it has long before a user's first click: Chromium answers that read ~1.8 s after start when no
        policy exists, and that wait belongs to installing the extension, not to a check."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.storage("managedPolicy").get("managedPolicy") is not None:
                return
            time.sleep(0.1)
        raise AssertionError("the extension never stored its copy of the managed policy")

    def _find_worker(self) -> Worker:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for worker in self.context.service_workers:
                if worker.url.startswith(EXTENSION_ORIGIN):
                    return worker
            try:
                self.context.wait_for_event("serviceworker", timeout=1000)
            except Exception:
                pass
        raise AssertionError(f"the extension's service worker did not start (is {EXTENSION_DIR} loadable?)")

    def set_storage(self, **values) -> None:
        self.worker.evaluate("values => chrome.storage.local.set(values)", values)

    def storage(self, *keys: str) -> dict:
        return self.worker.evaluate("keys => chrome.storage.local.get(keys)", list(keys))

    def configure(self, server_url: str, api_key: str) -> None:
        self.set_storage(serverUrl=server_url, apiKey=api_key)

    def open_page(self, name: str) -> Page:
        """The popup or options page, in a tab of its own."""
        page = self.context.new_page()
        page.goto(f"{EXTENSION_ORIGIN}/{name}/{name}.html")
        return page

    def dispatch_check(self, page: Page, selector: str, frame_url: str | None = None, menu_item: str = "check-image") -> float:
        """Click "Check image for deepfake" on an image (or `menu_item` "check-video-frame" on a video), by
        dispatching the menu event to the worker.

        Args:
            page: the tab.
            selector: the image or video, in the page or in the frame at `frame_url`.
            frame_url: the address of the (i)frame that holds it, if not the page itself.
            menu_item: the menu item's id.

        Returns the time of the click (time.perf_counter()).
        """
        frame = page.main_frame if frame_url is None else next(f for f in page.frames if f.url == frame_url)
        src_url = frame.locator(selector).evaluate("media => media.currentSrc || media.src")
        media_type = frame.locator(selector).evaluate("media => media.tagName === 'VIDEO' ? 'video' : 'image'")
        tab = self.worker.evaluate(
            """async url => (await chrome.tabs.query({})).find(tab => tab.url === url)""", page.url)
        assert tab, f"no tab shows {page.url}"
        frame_id = 0
        if frame_url is not None:  # Chrome's id for the frame, as the menu event would carry it
            frame_id = self.worker.evaluate("""async ([tabId, url]) => (await chrome.scripting.executeScript({
                target: { tabId, allFrames: true }, func: () => location.href })).find(r => r.result === url).frameId""",
                [tab["id"], frame_url])
        info = {"menuItemId": menu_item, "mediaType": media_type, "editable": False, "frameId": frame_id,
                "srcUrl": src_url, "pageUrl": page.url, "frameUrl": frame_url or page.url}
        clicked = time.perf_counter()
        self.worker.evaluate("([info, tab]) => chrome.contextMenus.onClicked.dispatch(info, tab)", [info, tab])
        return clicked


def overlay(page: Page, state: str | None = None):
    """The overlay host element (optionally in a given state: checking, done, error)."""
    return page.locator(f"{OVERLAY}[data-deepfake-guard-state={state}]" if state else OVERLAY)


def wait_for_overlay(page: Page, clicked: float, timings: list, label: str, state: str = "done", frame=None):
    """Wait until the overlay shows progress, then a result (or error); record and print both times from the click."""
    where = frame or page
    # The host element has no size of its own (its shadow content is positioned): wait for the panel.
    where.locator(f"{OVERLAY} .panel").first.wait_for(timeout=OVERLAY_TIMEOUT_MS)
    progress = time.perf_counter() - clicked
    where.locator(f'{OVERLAY}[data-deepfake-guard-state="{state}"] .panel').wait_for(timeout=OVERLAY_TIMEOUT_MS)
    seconds = time.perf_counter() - clicked
    timings.append((label, progress, seconds))
    print(f"click-to-overlay [{label}]: progress {progress * 1000:.0f} ms, {state} {seconds * 1000:.0f} ms")
    text = where.locator(f"{OVERLAY} .panel").inner_text()
    assert not re.search(r"\b(undefined|null|NaN)\b", text), f"the overlay shows a missing value: {text!r}"
    return where.locator(f'{OVERLAY}[data-deepfake-guard-state="{state}"]')


def screenshot_overlay(page: Page, image_selector: str, name: str, margin: int = 24) -> Path:
    """A screenshot of the image with its overlay (and the panel, which may stick out)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    box = page.locator(image_selector).bounding_box()
    panel = page.locator(f"{OVERLAY} .panel").bounding_box()
    left = max(0, min(box["x"], panel["x"]) - margin)
    top = max(0, min(box["y"], panel["y"]) - margin)
    right = max(box["x"] + box["width"], panel["x"] + panel["width"]) + margin
    bottom = max(box["y"] + box["height"], panel["y"] + panel["height"]) + margin
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), clip={"x": left, "y": top, "width": right - left, "height": bottom - top})
    return path
