"""A local HTTP site for tests that fetch by URL: nothing reaches an outside address."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Site(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append((self.path, dict(self.headers)))
        status, headers, body, delay = self.server.routes.get(self.path, (404, {}, b"no", 0))
        time.sleep(delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers and body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body or b"")
        except OSError:
            pass

    def log_message(self, *args):
        pass


@contextmanager
def local_site():
    """A site on 127.0.0.1: set `routes[path] = (status, headers, body, delay_seconds)`; `requests`
    records (path, headers); `base` is its URL and `allow` the DFG_FETCH_ALLOW_HOSTS entry for it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.routes, server.requests = {}, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    server.allow = [f"127.0.0.1:{server.server_address[1]}"]
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def trickling_upstream(every_s: float = 2.0, lines: int = 30) -> socket.socket:
    """A listening upstream that answers each connection with a status line, then one header line every
    `every_s` seconds, `lines` times (tests/server/test_fetch.py, bench/hostile.py). Close it when done."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    def trickle(connection: socket.socket) -> None:
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for number in range(lines):
                try:
                    connection.sendall(f"X-Line-{number}: 1\r\n".encode())
                except OSError:
                    return
                time.sleep(every_s)

    threading.Thread(target=serve, daemon=True).start()
    return listener
