"""Fetching by URL: public addresses only, in every spelling, checked at every redirect hop.

Local HTTP servers and an injectable resolver only; nothing here reaches an outside address.
"""
from __future__ import annotations

import time

import pytest

from server import fetch
from server.errors import Problem
from server.fetch import Fetcher, host_address, parse_ipv4, why_not_public
from tests.images import coffee, jpeg
from tests.local_site import local_site

IMAGE = jpeg(coffee())


@pytest.fixture
def site():
    with local_site() as server:
        yield server


def _refusal(fetcher: Fetcher, url: str) -> Problem:
    with pytest.raises(Problem) as caught:
        fetcher.fetch(url)
    return caught.value


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1/a.jpg", "loopback"),
    ("http://2130706433/a.jpg", "loopback"),          # decimal
    ("http://0x7f000001/a.jpg", "loopback"),          # hex
    ("http://0177.0.0.1/a.jpg", "loopback"),          # octal
    ("http://127.1/a.jpg", "loopback"),               # short form
    ("http://0x7f.0.0.1/a.jpg", "loopback"),
    ("http://[::1]/a.jpg", "loopback"),
    ("http://[::ffff:127.0.0.1]/a.jpg", "loopback"),  # IPv4-mapped
    ("http://[::127.0.0.1]/a.jpg", "loopback"),       # IPv4-compatible
    ("http://[64:ff9b::7f00:1]/a.jpg", "loopback"),   # NAT64
    ("http://[2002:7f00:1::]/a.jpg", "loopback"),     # 6to4
    ("http://0.0.0.0/a.jpg", "unspecified"),
    ("http://0/a.jpg", "unspecified"),
    ("http://10.1.2.3/a.jpg", "private"),
    ("http://192.168.0.1/a.jpg", "private"),
    ("http://[fd00::1]/a.jpg", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/a.jpg", "link-local"),
    ("http://224.0.0.1/a.jpg", "multicast"),
    ("http://240.0.0.1/a.jpg", "reserved"),
    ("http://100.64.0.1/a.jpg", "not a public address"),
])
def test_non_public_addresses_are_refused_in_every_spelling(url, why):
    def resolver(host, port):
        raise AssertionError("a numeric host must not be looked up")
    problem = _refusal(Fetcher(1_000_000, resolver=resolver), url)
    assert problem.status == 422 and why in problem.detail


def test_numeric_host_parsing_matches_inet_aton():
    import socket

    for host in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "10.1", "1.2.3.4", "0"):
        assert str(parse_ipv4(host)) == socket.inet_ntoa(socket.inet_aton(host))
    for host in ("example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "1..2"):
        assert parse_ipv4(host) is None
    assert host_address("[::1]") is not None and host_address("images.example") is None


def test_a_name_that_resolves_to_a_private_address_is_refused():
    fetcher = Fetcher(1_000_000, resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    problem = _refusal(fetcher, "http://images.example/a.jpg")
    assert "10.0.0.7" in problem.detail and "private" in problem.detail  # every address is checked


def test_only_http_and_https_and_no_credentials():
    fetcher = Fetcher(1_000_000)
    for url in ("file:///etc/passwd", "ftp://example.com/a.jpg", "gopher://x/"):
        assert "http and https" in _refusal(fetcher, url).detail
    assert "credentials" in _refusal(fetcher, "http://user:pw@example.com/a.jpg").detail


def test_allowed_host_is_fetched_and_connection_goes_to_the_checked_address(site):
    site.routes["/a.jpg"] = (200, {"Content-Type": "image/jpeg"}, IMAGE, 0)
    answers = iter([["127.0.0.1"], ["203.0.113.9"]])  # a second lookup would "rebind" elsewhere
    port = site.server_address[1]
    fetcher = Fetcher(1_000_000, allow_hosts=[f"pics.intranet:{port}"], resolver=lambda h, p: next(answers))
    fetched = fetcher.fetch(f"http://pics.intranet:{port}/a.jpg")
    assert fetched.data == IMAGE and fetched.content_type == "image/jpeg"
    assert site.requests[0][1]["Host"] == f"pics.intranet:{port}"


def test_a_redirect_that_leaves_the_allow_list_is_checked_again(site):
    site.routes["/hop"] = (302, {"Location": "http://localhost:1/secret"}, b"", 0)
    fetcher = Fetcher(1_000_000, allow_hosts=site.allow,
                      resolver=lambda host, port: ["127.0.0.1"] if host == "localhost" else [])
    assert "loopback" in _refusal(fetcher, site.base + "/hop").detail


def test_redirects_are_followed_at_most_three_times(site):
    for index in range(5):
        site.routes[f"/r{index}"] = (302, {"Location": f"/r{index + 1}"}, b"", 0)
    site.routes["/r3"] = (200, {"Content-Type": "image/jpeg"}, IMAGE, 0)
    fetcher = Fetcher(1_000_000, allow_hosts=site.allow)
    assert fetcher.fetch(site.base + "/r0").data == IMAGE  # three redirects: fine
    site.routes["/r3"] = (302, {"Location": "/r4"}, b"", 0)
    assert "More than 3 redirects" in _refusal(fetcher, site.base + "/r0").detail


def test_too_large_is_413_whether_declared_or_not(site):
    site.routes["/big"] = (200, {"Content-Type": "image/jpeg"}, b"x" * 5000, 0)
    site.routes["/chunked"] = (200, {"Content-Type": "image/jpeg", "Content-Length": "10"}, b"x" * 10, 0)
    fetcher = Fetcher(1000, allow_hosts=site.allow)
    assert _refusal(fetcher, site.base + "/big").status == 413
    assert Fetcher(10, allow_hosts=site.allow).fetch(site.base + "/chunked").data == b"x" * 10


def test_not_an_image_and_upstream_errors(site):
    site.routes["/page"] = (200, {"Content-Type": "text/html"}, b"<html></html>", 0)
    fetcher = Fetcher(1_000_000, allow_hosts=site.allow)
    assert _refusal(fetcher, site.base + "/page").status == 415
    problem = _refusal(fetcher, site.base + "/missing")
    assert problem.status == 422 and "404" in problem.detail


def test_slow_server_times_out(site, monkeypatch):
    monkeypatch.setattr(fetch, "READ_TIMEOUT", 0.3)
    site.routes["/slow"] = (200, {"Content-Type": "image/jpeg"}, IMAGE, 1.0)
    started = time.monotonic()
    problem = _refusal(Fetcher(1_000_000, allow_hosts=site.allow), site.base + "/slow")
    assert problem.status == 422 and "failed" in problem.detail
    assert time.monotonic() - started < 1.0


def test_public_address_reasons():
    import ipaddress

    assert why_not_public(ipaddress.ip_address("93.184.216.34")) is None
    assert why_not_public(ipaddress.ip_address("2606:4700::1111")) is None
    assert "loopback" in why_not_public(ipaddress.ip_address("::ffff:7f00:1"))


def test_the_deadline_holds_against_an_upstream_that_trickles_its_headers(monkeypatch):
    """One header line every 0.2 s never trips a per-read timeout; the total deadline must still hold."""
    from tests.local_site import trickling_upstream

    monkeypatch.setattr(fetch, "TOTAL_TIMEOUT", 1.0)
    listener = trickling_upstream(every_s=0.2, lines=25)  # 5 s of headers unless the client goes away
    port = listener.getsockname()[1]
    started = time.monotonic()
    problem = _refusal(Fetcher(1_000_000, allow_hosts=[f"127.0.0.1:{port}"]), f"http://127.0.0.1:{port}/a.jpg")
    elapsed = time.monotonic() - started
    listener.close()
    assert problem.status == 422 and "took longer than 1 s" in problem.detail
    assert elapsed < 1.0 + 1.0, f"the fetch took {elapsed:.1f} s against a 1 s deadline"
