"""The front's hop to gunicorn: one buffered request over a private Unix socket, its whole answer back.

The answer is read while the request is still being sent. The app may answer before it reads the
body (401 for a missing key, 415, 429) and gunicorn then closes its end, so sending the rest fails
with a broken pipe; that answer is already in the socket, and it is the client's answer, not a 502.
Raw socket calls, not an asyncio stream: a failed write on a stream's transport closes its reading
half too and drops what was already received.
"""
from __future__ import annotations

import asyncio
import socket

import h11

READ_CHUNK = 64 * 1024
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


async def connect(path: str) -> socket.socket:
    """A non-blocking connection to gunicorn's socket at `path` (OSError when nothing accepts)."""
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(upstream, path)
    except BaseException:
        upstream.close()
        raise
    return upstream


async def exchange(upstream: socket.socket, client: h11.Connection, request: bytes) -> tuple[h11.Response, bytes]:
    """Send `request` (whole, as `client` framed it) and return the answer with its body.

    Raises OSError or h11.ProtocolError when the connection ends without a whole answer."""
    sending = asyncio.ensure_future(_send_all(upstream, request))
    try:
        return await _response(client, upstream)
    finally:   # an early answer leaves the rest of the body unsent: it is not wanted
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)


async def _send_all(upstream: socket.socket, data: bytes) -> None:
    """Send a request to gunicorn; a connection it closed after answering early ends the sending quietly
    (its answer is read beside this, and a worker that died without one is a 502 there)."""
    try:
        await asyncio.get_running_loop().sock_sendall(upstream, data)
    except OSError:
        pass


async def _response(client: h11.Connection, upstream: socket.socket) -> tuple[h11.Response, bytes]:
    """gunicorn's whole answer."""
    loop = asyncio.get_running_loop()
    response, chunks, total = None, [], 0
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await loop.sock_recv(upstream, READ_CHUNK)
            except ConnectionResetError:   # closed with our body unread: all it sent was read before this
                data = b""
            client.receive_data(data)
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            total += len(event.data)
            if total > MAX_RESPONSE_BYTES:
                raise h11.LocalProtocolError("response too large")
            chunks.append(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return response, b"".join(chunks)
        elif isinstance(event, h11.ConnectionClosed):
            raise ConnectionResetError("upstream closed before the end of its answer")
