"""What reaches our server from the browser: the image and two addresses, never the page's cookies."""
from __future__ import annotations

import pytest

from tests.e2e.browser import wait_for_overlay
from tests.e2e.pages import open_photo_page

pytestmark = pytest.mark.e2e


def test_no_cookies_reach_the_server(extension, dfg_server, site, timings):
    # The test site and the server share the host 127.0.0.1 (cookies ignore ports), so a cookie
    # the page sets would ride along on any request to the server that included credentials.
    page = open_photo_page(extension, site)
    page.evaluate("document.cookie = 'session=page-secret; path=/'")
    assert any(cookie["name"] == "session" for cookie in extension.context.cookies(dfg_server.url))
    to_server = []
    extension.context.on("request", lambda request: to_server.append(request)
                         if request.url.startswith(dfg_server.url) else None)

    clicked = extension.dispatch_check(page, "#photo")
    wait_for_overlay(page, clicked, timings, "privacy: cookie on the page's host")

    posts = [request for request in to_server if request.method == "POST"]
    assert posts, "the worker's request to the server was not observed"
    headers = posts[0].all_headers()
    assert "cookie" not in headers
    assert headers["authorization"] == f"Bearer {dfg_server.api_key}"
    assert "referer" not in headers
