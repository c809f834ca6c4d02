"""POST /api/v1/checks with JSON {"url": ...}: the real app fetches from a local site under the SSRF rules."""
from __future__ import annotations

import hashlib

import pytest

from server import create_app
from tests.conftest import API_KEY
from tests.images import astronaut, jpeg
from tests.local_site import local_site

IMAGE = jpeg(astronaut())


@pytest.fixture
def site():
    with local_site() as server:
        server.routes["/face.jpg"] = (200, {"Content-Type": "image/jpeg"}, IMAGE, 0)
        yield server


def _client(tmp_path, **settings):
    app = create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY], **settings})
    return app, app.test_client()


AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_an_allowed_url_is_fetched_and_checked_like_an_upload(tmp_path, site):
    _, client = _client(tmp_path, fetch_allow_hosts=site.allow)
    url = site.base + "/face.jpg"
    response = client.post("/api/v1/checks", json={"url": url, "page_url": "https://news.example/story"},
                           headers=AUTH)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["image"]["sha256"] == hashlib.sha256(IMAGE).hexdigest()
    assert body["scope"] == "faces" and body["verdict"] in ("real", "fake", "uncertain")
    assert body["source_url"] == url and body["page_url"] == "https://news.example/story"
    assert client.get(f"/api/v1/checks/{body['id']}", headers=AUTH).get_json()["source_url"] == url


def test_a_private_url_is_refused_with_the_reason_and_never_fetched(tmp_path, site):
    _, client = _client(tmp_path)  # no allow list: 127.0.0.1 is loopback
    for url in (site.base + "/face.jpg", "http://2130706433/face.jpg", "http://[::ffff:127.0.0.1]/x.jpg"):
        response = client.post("/api/v1/checks", json={"url": url}, headers=AUTH)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"].endswith("url-refused") and "loopback" in problem["detail"]
    assert site.requests == []


def test_a_redirect_out_of_the_allow_list_is_checked_again(tmp_path, site):
    app, client = _client(tmp_path, fetch_allow_hosts=[f"pics.intranet:{site.server_address[1]}"])
    app.extensions["fetcher"].resolver = lambda host, port: ["127.0.0.1"]  # every name resolves locally
    site.routes["/hop"] = (302, {"Location": "http://metadata.internal/latest"}, b"", 0)
    ok = client.post("/api/v1/checks", json={"url": f"http://pics.intranet:{site.server_address[1]}/face.jpg"},
                     headers=AUTH)
    assert ok.status_code == 200
    refused = client.post("/api/v1/checks", json={"url": f"http://pics.intranet:{site.server_address[1]}/hop"},
                          headers=AUTH)
    assert refused.status_code == 422 and "metadata.internal" in refused.get_json()["detail"]
    assert [path for path, _ in site.requests] == ["/face.jpg", "/hop"]


def test_not_an_image_too_large_and_bad_bytes(tmp_path, site):
    site.routes["/page"] = (200, {"Content-Type": "text/html"}, b"<html></html>", 0)
    site.routes["/broken.jpg"] = (200, {"Content-Type": "image/jpeg"}, IMAGE[: len(IMAGE) // 3], 0)
    _, client = _client(tmp_path, fetch_allow_hosts=site.allow, max_upload_bytes=len(IMAGE) - 1)
    statuses = {path: client.post("/api/v1/checks", json={"url": site.base + path}, headers=AUTH).status_code
                for path in ("/page", "/face.jpg", "/broken.jpg", "/missing.jpg")}
    assert statuses == {"/page": 415, "/face.jpg": 413, "/broken.jpg": 422, "/missing.jpg": 422}


@pytest.mark.parametrize("body", [{}, {"url": ""}, {"url": 7}, ["http://x/"], {"url": "ftp://example.com/a.jpg"},
                                  {"url": "http://user:pw@example.com/a.jpg"}, {"url": "x" * 3000}])
def test_a_bad_json_body_is_a_422_that_says_what_to_send(tmp_path, body):
    _, client = _client(tmp_path)
    response = client.post("/api/v1/checks", json=body, headers=AUTH)
    assert response.status_code == 422 and response.get_json()["detail"]


def test_url_checks_need_a_key(tmp_path, site):
    _, client = _client(tmp_path, fetch_allow_hosts=site.allow)
    assert client.post("/api/v1/checks", json={"url": site.base + "/face.jpg"}).status_code == 401
    assert site.requests == []
