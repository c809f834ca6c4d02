"""The front's hop to gunicorn (server/upstream.py) against a worker that answers before reading the body.

gunicorn's own drain (server/gunicorn_conf.py) reads what the app left of a body, so `serve` never shows
the front a worker that closes on unread bytes; this worker does, as a worker past its drain limit or one
that is restarting would. The socket is real; only the worker at the far end is ours.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import h11
import pytest

from server.upstream import connect, exchange

EARLY_ANSWER = (b"HTTP/1.1 401 UNAUTHORIZED\r\nContent-Type: application/problem+json\r\nContent-Length: 15\r\n"
                b"Connection: close\r\n\r\n{\"status\":401}\n")


def _worker(path: str, answer: bytes) -> threading.Thread:
    """Accept one connection, read only the request's head, send `answer` and close with the body unread."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(1024)
            connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _request(body: bytes) -> tuple[h11.Connection, bytes]:
    client = h11.Connection(h11.CLIENT)
    head = client.send(h11.Request(method="POST", target="/api/v1/checks", headers=[
        ("host", "localhost"), ("content-type", "image/jpeg"), ("content-length", str(len(body)))]))
    return client, head + client.send(h11.Data(data=body)) + client.send(h11.EndOfMessage())


async def _exchange_async(path: str, body: bytes) -> tuple[h11.Response, bytes]:
    client, data = _request(body)
    with await connect(path) as upstream:
        return await asyncio.wait_for(exchange(upstream, client, data), 30)


def _exchange(path: str, body: bytes) -> tuple[h11.Response, bytes]:
    """The exchange on an event loop of its own, in a thread of its own: the browser tests' Playwright keeps
    a loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _exchange_async(path, body)).result()


@pytest.mark.parametrize("size", [1024, 1024 * 1024, 10 * 1024 * 1024])
def test_an_answer_given_before_the_body_was_read_is_returned(tmp_path, size):
    path = str(tmp_path / "worker.sock")
    worker = _worker(path, EARLY_ANSWER)
    response, content = _exchange(path, b"\xff" * size)
    worker.join(5)
    assert response.status_code == 401 and content == b"{\"status\":401}\n"


def test_a_worker_that_closes_without_an_answer_is_an_error(tmp_path):
    path = str(tmp_path / "worker.sock")
    worker = _worker(path, b"")
    with pytest.raises((OSError, h11.ProtocolError)):
        _exchange(path, b"\xff" * (1024 * 1024))
    worker.join(5)


def test_a_half_answer_is_an_error(tmp_path):
    path = str(tmp_path / "worker.sock")
    worker = _worker(path, EARLY_ANSWER[:-8])
    with pytest.raises((OSError, h11.ProtocolError)):
        _exchange(path, b"\xff" * (1024 * 1024))
    worker.join(5)
