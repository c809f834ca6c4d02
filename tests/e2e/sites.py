"""Tiny web sites for the browser tests: pages and images on their own ports, with request logs.

Two sites on different ports are different origins, which is what hotlinking and CORS are about.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.e2e.servers import free_port

# A guard looks at a request's headers and returns an HTTP status to refuse it, or None.
Guard = Callable[[dict], "int | None"]


def refuses_other_sites(own_origins: list[str]) -> Guard:
    """Hotlink protection as commonly configured: no Referer/Origin is fine, a foreign one is refused."""
    def guard(headers: dict) -> int | None:
        for name in ("Referer", "Origin"):
            value = headers.get(name)
            if value and not any(value.startswith(origin) for origin in own_origins):
                return 403
        return None
    return guard


def needs_referer_from(origin: str) -> Guard:
    """Stricter protection: only requests that come from the site's own pages get the image."""
    def guard(headers: dict) -> int | None:
        return None if headers.get("Referer", "").startswith(origin) else 403
    return guard


@dataclass
class Route:
    body: bytes
    content_type: str
    guard: Guard | None = None


@dataclass
class SeenRequest:
    path: str
    headers: dict
    status: int


@dataclass
class Site:
    """An HTTP site on 127.0.0.1: add routes, read what was asked for."""

    port: int = field(default_factory=free_port)
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[SeenRequest] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def add(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
            guard: Guard | None = None) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, content_type, guard)
        return self.url(path)

    def seen(self, path: str) -> list[SeenRequest]:
        return [request for request in self.requests if request.path == path]

    def start(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = site.routes.get(self.path.split("?")[0])
                headers = dict(self.headers.items())
                status = 404 if route is None else (route.guard(headers) if route.guard else None) or 200
                site.requests.append(SeenRequest(self.path, headers, status))
                body, content_type = (route.body, route.content_type) if status == 200 else (b"refused", "text/plain")
                status, body, ranged = self._ranged(status, body)
                self.send_response(status)
                if ranged:
                    self.send_header("Content-Range", ranged)
                if status in (200, 206) and content_type.startswith(("video/", "audio/")):
                    self.send_header("Accept-Ranges", "bytes")   # what lets a <video> seek
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _ranged(self, status: int, body: bytes) -> tuple[int, bytes, str | None]:
                """A `Range: bytes=a-b` request on a 200 answer: 206 with that part (media players ask so)."""
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if status != 200 or not match or int(match[1]) >= len(body):
                    return status, body, None
                first = int(match[1])
                last = min(int(match[2]) if match[2] else len(body) - 1, len(body) - 1)
                return 206, body[first:last + 1], f"bytes {first}-{last}/{len(body)}"

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
