"""Getting the bytes the way that works on real sites: hotlink protection, page-only images, data: and blob: URLs."""
from __future__ import annotations

import base64
import hashlib

import pytest
import requests

from tests.e2e.browser import wait_for_overlay
from tests.e2e.sites import needs_referer_from, refuses_other_sites
from tests.images import astronaut, jpeg

pytestmark = pytest.mark.e2e

PHOTO = jpeg(astronaut(), quality=85)
PHOTO_SHA256 = hashlib.sha256(PHOTO).hexdigest()


def check_on_page(extension, dfg_server, page_url, timings, label):
    page = extension.context.new_page()
    page.goto(page_url)
    page.locator("#photo").evaluate("image => image.decode()")  # the page itself shows the image
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, label)
    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]
    return page, check


def test_image_host_that_refuses_hotlinking(extension, dfg_server, site, other_site, timings):
    image_url = other_site.add("/cdn/photo.jpg", PHOTO, "image/jpeg", guard=refuses_other_sites([site.origin]))
    page_url = site.add("/", f'<h1>News</h1><img id="photo" src="{image_url}" width="300" height="300">')
    # The image host really refuses other sites (a page elsewhere, or a script on a page asking with CORS).
    assert requests.get(image_url, headers={"Referer": "http://elsewhere.example/"}, timeout=5).status_code == 403
    assert requests.get(image_url, headers={"Origin": "http://elsewhere.example"}, timeout=5).status_code == 403

    _, check = check_on_page(extension, dfg_server, page_url, timings, "hotlink-protected image host")

    assert check["image"]["sha256"] == PHOTO_SHA256
    assert check["source_url"] == image_url
    # The worker's request carried neither the page's Referer nor an Origin, so the host served it.
    from_browser = [seen for seen in other_site.seen("/cdn/photo.jpg") if "Chrome" in seen.headers.get("User-Agent", "")]
    worker_requests = [seen for seen in from_browser if "Referer" not in seen.headers]
    assert [seen.status for seen in worker_requests] == [200]
    assert "Origin" not in worker_requests[0].headers


def test_image_only_the_page_may_load_is_read_through_the_page(extension, dfg_server, site, timings):
    # Served only to requests from the site's own pages: the worker (no Referer) is refused, and
    # the content script, asking as the page, gets the original file.
    site.add("/private/photo.jpg", PHOTO, "image/jpeg", guard=needs_referer_from(site.origin))
    page_url = site.add("/", '<h1>Members</h1><img id="photo" src="/private/photo.jpg" width="300" height="300">')

    _, check = check_on_page(extension, dfg_server, page_url, timings, "image readable only by the page")

    assert check["image"]["sha256"] == PHOTO_SHA256
    statuses = [(seen.status, "Referer" in seen.headers) for seen in site.seen("/private/photo.jpg")]
    assert (403, False) in statuses, "the worker should have tried first, without a Referer"
    assert statuses.count((200, True)) >= 2, "the page's own load, then the content script's read"


def test_data_url_image(extension, dfg_server, site, timings):
    data_url = "data:image/jpeg;base64," + base64.b64encode(PHOTO).decode()
    page_url = site.add("/", f'<h1>Inline</h1><img id="photo" src="{data_url}" width="300" height="300">')

    _, check = check_on_page(extension, dfg_server, page_url, timings, "data: URL image")

    assert check["image"]["sha256"] == PHOTO_SHA256
    assert check["source_url"] is None  # a data: URL is the image itself, not where it came from
    assert check["page_url"] == page_url


def test_blob_url_image(extension, dfg_server, site, timings):
    site.add("/raw/photo.jpg", PHOTO, "image/jpeg")
    page_url = site.add("/", """<h1>Editor</h1><img id="photo" width="300" height="300">
        <script>
          fetch("/raw/photo.jpg").then(r => r.blob()).then(blob => {
            document.getElementById("photo").src = URL.createObjectURL(blob);
          });
        </script>""")
    page = extension.context.new_page()
    page.goto(page_url)
    page.wait_for_function("document.getElementById('photo').src.startsWith('blob:')")

    page.locator("#photo").evaluate("image => image.decode()")
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "blob: URL image")

    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["image"]["sha256"] == PHOTO_SHA256
    assert check["source_url"] is None
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]


def test_image_in_a_cross_origin_frame(extension, dfg_server, site, other_site, timings):
    other_site.add("/embed/photo.jpg", PHOTO, "image/jpeg")
    frame_url = other_site.add("/embed", '<img id="photo" src="/embed/photo.jpg" width="240" height="240">')
    page = extension.context.new_page()
    page.goto(site.add("/", f'<h1>Embedded</h1><iframe src="{frame_url}" width="400" height="300"></iframe>'))
    frame = next(frame for frame in page.frames if frame.url == frame_url)
    frame.locator("#photo").evaluate("image => image.decode()")

    clicked = extension.dispatch_check(page, "#photo", frame_url=frame_url)
    root = wait_for_overlay(page, clicked, timings, "image in a cross-origin iframe", frame=frame)

    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["image"]["sha256"] == PHOTO_SHA256
    assert check["page_url"] == site.url("/")  # the page the user sees, not the frame
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]
    assert page.locator("deepfake-guard-overlay").count() == 0  # drawn in the frame, over its image
