"""The buffering front of `deepfake-guard serve`: every request is read whole, quickly, before gunicorn sees it.

gunicorn's threads read a request themselves, so four connections that send a header line every
2 s held all four threads of the default server and `/healthz` went unanswered for 30 s. Here one
asyncio process reads requests without holding a thread per connection, under deadlines
(the head within `DFG_CLIENT_HEAD_TIMEOUT_SECONDS`, the body within `DFG_CLIENT_BODY_TIMEOUT_SECONDS`),
and passes each complete request to gunicorn over a private Unix socket, one connection per request.

What the front decides itself, always as problem+json:
- a head that breaks HTTP/1.1 (a NUL byte in a header, bad framing) → 400; too large → 431; a
  target over 4094 bytes → 414 (gunicorn's own limits, which would answer in HTML);
- a body over `DFG_MAX_UPLOAD_BYTES`, declared or not, chunked included → 413 (a declared one before
  a byte of it is read, and before `100 Continue`);
- a head or body not finished in time → 408;
- more than MAX_CONNECTIONS connections, more than MAX_CONNECTIONS_PER_ADDRESS from one address
  (behind DFG_PROXY_HOPS proxies: requests of one client being answered, the client read from
  X-Forwarded-For as the app reads it), or more than MAX_BUFFERED_BYTES of bodies held at once → 503
  with Retry-After;
- an API request whose key already has `DFG_MAX_IN_FLIGHT_PER_KEY` requests at the workers → 429
  `too-many-in-flight` with Retry-After: 1. gunicorn serves its queue first come, first served: a page
  scan that sent 50 checks at once would otherwise put everyone else's check behind all 50. Capped,
  another key's check waits behind at most that many of them. The front is one process, so the cap
  holds across every worker; a key is told apart by a hash of its Authorization header (the front
  does not check keys: an invented one gets its 401 from the app, under the per-address limits).
A request gunicorn answered early (401, 415, 429) has already been read whole, so the connection
stays usable: no client sees a dropped connection where a 429 was meant; and the answer reaches the
client whatever the body's size, though gunicorn closed its socket without reading it (server/upstream.py).

The client's address reaches the app as X-Forwarded-For, which the app trusts for exactly as many
hops as there are proxies (DFG_PROXY_HOPS in front of `serve`, plus this front): a client cannot
forge its address to dodge the per-address limits.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import uuid
from collections import Counter
from dataclasses import dataclass

import h11

from core.problems import Problem, body_too_large, problem_document
from server.upstream import connect, exchange

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
IDLE_TIMEOUT_S = 5.0              # a kept-alive connection with no new request (gunicorn's keepalive)
UPSTREAM_CONNECT_TIMEOUT_S = 5.0
UPSTREAM_TIMEOUT_S = 120.0        # gunicorn kills a worker stuck for 60 s
WRITE_TIMEOUT_S = 60.0            # a client that does not read its answer
LINGER_S = 2.0                    # after an early error: read and drop what the client still sends
MAX_HEAD_BYTES = 16 * 1024
MAX_FIELDS = 100                  # gunicorn's limit_request_fields
MAX_FIELD_BYTES = 8190            # gunicorn's limit_request_field_size
MAX_TARGET_BYTES = 4094           # gunicorn's limit_request_line
MAX_CONNECTIONS = 2000
MAX_CONNECTIONS_PER_ADDRESS = 64
MAX_BUFFERED_BYTES = 256 * 1024 * 1024
BUSY_RETRY_AFTER_S = "2"
# Hop-by-hop headers, and the ones the front sets itself.
DROPPED_REQUEST_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te",
                           b"trailer", b"upgrade", b"expect", b"content-length"}
DROPPED_RESPONSE_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"trailer",
                            b"upgrade"}


@dataclass(frozen=True)
class FrontLimits:
    max_body_bytes: int
    head_timeout_s: float
    body_timeout_s: float
    proxy_hops: int = 0           # trusted proxies in front of this one
    max_in_flight_per_key: int = 0   # API requests one Authorization may have at the workers; 0: no cap


class _Closed(Exception):
    """The client went away, or stayed idle past the keep-alive timeout: close without an answer."""


def _problem_parts(refusal: Problem, path: str | None) -> tuple[dict, bytes]:
    """The headers and problem+json body of an answer the front gives itself."""
    request_id = uuid.uuid4().hex
    body = json.dumps(problem_document(refusal.status, refusal.slug, refusal.title, refusal.detail, path,
                                       request_id, **refusal.extra)).encode()
    headers = {"Content-Type": "application/problem+json", "Content-Length": str(len(body)),
               "X-Request-ID": request_id, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               **refusal.headers}
    return headers, body


def problem_bytes(refusal: Problem, path: str | None) -> bytes:
    """A whole HTTP/1.1 response carrying an answer the front gives itself as problem+json, with
    Connection: close (the front closes the connection after each one)."""
    headers, body = _problem_parts(refusal, path)
    headers["Connection"] = "close"
    reason = _REASONS.get(refusal.status, "Error")
    head = f"HTTP/1.1 {refusal.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def problem_response(refusal: Problem, path: str | None) -> tuple[h11.Response, bytes]:
    """The same answer for a connection that stays open (the request was read whole)."""
    headers, body = _problem_parts(refusal, path)
    return h11.Response(status_code=refusal.status, reason=_REASONS.get(refusal.status, "Error").encode(),
                        headers=[(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]), body


_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
            429: "Too Many Requests", 431: "Request Header Fields Too Large", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


class Front:
    """Accepts client connections, buffers each request, forwards it to gunicorn's Unix socket."""

    def __init__(self, upstream_path: str, limits: FrontLimits) -> None:
        self.upstream_path = upstream_path
        self.limits = limits
        self.connections: Counter[str] = Counter()
        self.buffered = 0
        self.in_flight = 0
        self.in_flight_per_key: Counter[str] = Counter()
        self.requests_per_client: Counter[str] = Counter()   # behind proxies (see _proxied_client)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = writer.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else "unknown"
        try:
            if sum(self.connections.values()) >= MAX_CONNECTIONS or \
                    (not self.limits.proxy_hops and self.connections[address] >= MAX_CONNECTIONS_PER_ADDRESS):
                await self._refuse(reader, writer, _busy("Too many open connections"), None)
                return
            self.connections[address] += 1
            try:
                await self._serve(reader, writer, address)
            finally:
                self.connections[address] -= 1
                if not self.connections[address]:
                    del self.connections[address]
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:  # never let one connection's surprise take the front down
            log.exception("front: unexpected error on a connection from %s", address)
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        first = True
        while True:
            path = None
            try:
                request = await self._head(conn, reader, first)
                path = request.target.decode("latin-1").split("?", 1)[0]
                _check_head(request, self.limits.max_body_bytes)
                if conn.they_are_waiting_for_100_continue:
                    writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                body = await self._body(conn, reader)
            except Problem as refusal:
                await self._refuse(reader, writer, refusal, path)
                return
            except h11.RemoteProtocolError as error:
                await self._refuse(reader, writer, _malformed(error), path)
                return
            key = self._caller_key(request, path)
            client = self._proxied_client(request, address)
            refusal = self._over_a_cap(key, client)
            if refusal is not None:
                # read whole, so answered on a connection that stays open, as gunicorn's own 429s are
                self.buffered -= len(body)
                response, content = problem_response(refusal, path)
            else:
                try:
                    self.in_flight += 1
                    _take(self.in_flight_per_key, key)
                    _take(self.requests_per_client, client)
                    response, content = await self._forward(request, body, address)
                except Problem as refusal:
                    await self._refuse(reader, writer, refusal, path)
                    return
                finally:
                    self.in_flight -= 1
                    self.buffered -= len(body)
                    _give(self.in_flight_per_key, key)
                    _give(self.requests_per_client, client)
            # One write: head and body in separate small writes meet Nagle's algorithm and the
            # client's delayed ACK, 40 ms a request on a kept-alive connection.
            writer.write(conn.send(response) + (conn.send(h11.Data(data=content)) if content else b"")
                         + conn.send(h11.EndOfMessage()))
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
            first = False

    async def _head(self, conn: h11.Connection, reader: asyncio.StreamReader, first: bool) -> h11.Request:
        """The next request's head. Its first byte may take the head timeout on a new connection and
        IDLE_TIMEOUT_S on a kept-alive one (no byte at all: closed without an answer, as a browser's
        unused preconnection is); from there the whole head must arrive within the head timeout."""
        loop = asyncio.get_running_loop()
        if not conn.trailing_data[0]:  # nothing of this request is buffered yet (a pipelined one may be)
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK),
                                              self.limits.head_timeout_s if first else IDLE_TIMEOUT_S)
            except TimeoutError:
                raise _Closed() from None
            if not data:
                raise _Closed()
            conn.receive_data(data)
        deadline = loop.time() + self.limits.head_timeout_s
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                return event
            if event is not h11.NEED_DATA:  # ConnectionClosed, or PAUSED
                raise _Closed()
            conn.receive_data(await self._read(reader, deadline, "head"))

    async def _body(self, conn: h11.Connection, reader: asyncio.StreamReader) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout_s
        chunks, total = [], 0
        try:
            while True:
                event = conn.next_event()
                if isinstance(event, h11.EndOfMessage):
                    return b"".join(chunks)
                if isinstance(event, h11.Data):
                    total += len(event.data)
                    self.buffered += len(event.data)
                    chunks.append(event.data)
                    if total > self.limits.max_body_bytes:
                        raise body_too_large(self.limits.max_body_bytes)
                    if self.buffered > MAX_BUFFERED_BYTES:
                        raise _busy("The server is holding too many uploads at once")
                elif isinstance(event, h11.ConnectionClosed):
                    raise _Closed()
                elif event is h11.NEED_DATA:
                    conn.receive_data(await self._read(reader, deadline, "body"))
        except BaseException:
            self.buffered -= total
            raise

    async def _read(self, reader: asyncio.StreamReader, deadline: float, part: str) -> bytes:
        remaining = deadline - asyncio.get_running_loop().time()
        timeout = self.limits.head_timeout_s if part == "head" else self.limits.body_timeout_s
        try:
            if remaining <= 0:
                raise TimeoutError
            return await asyncio.wait_for(reader.read(READ_CHUNK), remaining)
        except TimeoutError:
            raise Problem(408, "request-timeout", "Request not received in time",
                          f"The request's {part} did not arrive within {timeout:g} s. Send the whole request "
                          "without pauses.", limit_seconds=timeout) from None

    async def _forward(self, request: h11.Request, body: bytes, address: str) -> tuple[h11.Response, bytes]:
        """Send one buffered request to gunicorn and return its whole answer, whenever it came."""
        try:
            upstream = await asyncio.wait_for(connect(self.upstream_path), UPSTREAM_CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError):
            raise _busy("The server's workers are not accepting requests (starting or restarting)") from None
        with upstream:
            client = h11.Connection(h11.CLIENT)
            head = client.send(h11.Request(method=request.method, target=request.target,
                                           headers=self._upstream_headers(request, body, address)))
            data = head + (client.send(h11.Data(data=body)) if body else b"") + client.send(h11.EndOfMessage())
            try:
                response, content = await asyncio.wait_for(exchange(upstream, client, data), UPSTREAM_TIMEOUT_S)
            except TimeoutError:
                raise Problem(504, "upstream-timeout", "The server took too long",
                              f"The server did not answer within {UPSTREAM_TIMEOUT_S:g} s. Try again later.") from None
            except (OSError, h11.ProtocolError):
                raise Problem(502, "upstream-failed", "The server failed to answer",
                              "A worker closed the connection without an answer (it may have been restarted). "
                              "Send the request again.", headers={"Retry-After": BUSY_RETRY_AFTER_S}) from None
        headers = [(n, v) for n, v in response.headers if n not in DROPPED_RESPONSE_HEADERS]
        return h11.Response(status_code=response.status_code, headers=headers, reason=response.reason), content

    def _caller_key(self, request: h11.Request, path: str | None) -> str | None:
        """Who an API request counts against for the in-flight cap (None: not capped)."""
        if not self.limits.max_in_flight_per_key or not (path or "").startswith("/api/"):
            return None
        authorization = next((v for n, v in request.headers if n == b"authorization"), None)
        if not authorization:
            return None
        return hashlib.sha256(authorization).hexdigest()[:24]

    def _over_a_cap(self, key: str | None, client: str | None) -> Problem | None:
        if key is not None and self.in_flight_per_key[key] >= self.limits.max_in_flight_per_key:
            return _too_many_in_flight(self.limits.max_in_flight_per_key)
        if client is not None and self.requests_per_client[client] >= MAX_CONNECTIONS_PER_ADDRESS:
            return _busy(f"More than {MAX_CONNECTIONS_PER_ADDRESS} requests from one address are being answered")
        return None

    def _proxied_client(self, request: h11.Request, address: str) -> str | None:
        """Behind DFG_PROXY_HOPS proxies, the client a request counts against, read from X-Forwarded-For as
        the app reads it (the proxies' entries trusted, the front's own one more); None without proxies.

        A proxy's connections carry the requests of all its clients, so there the per-address cap counts
        each client's requests being answered instead of the proxy's connections."""
        if not self.limits.proxy_hops:
            return None
        entries = [entry.strip() for entry in b",".join(self._forwarded_for(request)).decode("latin-1").split(",")]
        entries = [entry for entry in entries if entry] + [address]
        trusted = self.limits.proxy_hops + 1
        return entries[-trusted] if len(entries) >= trusted else address

    def _forwarded_for(self, request: h11.Request) -> list[bytes]:
        """The X-Forwarded-For values the front passes on: the proxies' (none without proxies)."""
        return [v for n, v in request.headers if n == b"x-forwarded-for"] if self.limits.proxy_hops else []

    def _upstream_headers(self, request: h11.Request, body: bytes, address: str) -> list[tuple[bytes, bytes]]:
        forwarded = self._forwarded_for(request)
        headers = [(n, v) for n, v in request.headers
                   if n not in DROPPED_REQUEST_HEADERS and n != b"x-forwarded-for"]
        if not any(n == b"host" for n, _ in headers):
            headers.append((b"host", b"localhost"))
        if body or request.method in (b"POST", b"PUT", b"PATCH"):
            headers.append((b"content-length", str(len(body)).encode()))
        headers.append((b"x-forwarded-for", b", ".join(forwarded + [address.encode()])))
        headers.append((b"connection", b"close"))
        return headers

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, refusal: Problem,
                      path: str | None) -> None:
        """Answer, then close gently: stop writing, and drop what the client still sends for a moment,
        so the answer is not lost to a reset while its upload is still on the way."""
        writer.write(problem_bytes(refusal, path))
        try:
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
            if writer.can_write_eof():
                writer.write_eof()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + LINGER_S
            while loop.time() < deadline and await asyncio.wait_for(reader.read(READ_CHUNK), deadline - loop.time()):
                pass
        except (ConnectionError, TimeoutError, OSError):
            pass


def _check_head(request: h11.Request, max_body: int) -> None:
    if len(request.target) > MAX_TARGET_BYTES:
        raise Problem(414, "uri-too-long", "Request target too long",
                      f"The request target is {len(request.target)} bytes; the limit is {MAX_TARGET_BYTES}.")
    if len(request.headers) > MAX_FIELDS:
        raise Problem(431, "too-many-headers", "Too many header fields",
                      f"The request has {len(request.headers)} header fields; the limit is {MAX_FIELDS}.")
    if len(request.target) + sum(len(name) + len(value) + 4 for name, value in request.headers) > MAX_HEAD_BYTES:
        raise Problem(431, "header-too-large", "Request head too large",
                      f"The request line and headers are over {MAX_HEAD_BYTES} bytes.")
    for name, value in request.headers:
        if len(name) + len(value) + 2 > MAX_FIELD_BYTES:
            raise Problem(431, "header-too-large", "Header field too large",
                          f"The header field '{name.decode('latin-1')}' is over {MAX_FIELD_BYTES} bytes.")
        if name == b"content-length" and value.isdigit() and int(value) > max_body:
            raise body_too_large(max_body)


def _take(counter: Counter[str], name: str | None) -> None:
    if name is not None:
        counter[name] += 1


def _give(counter: Counter[str], name: str | None) -> None:
    if name is not None:
        counter[name] -= 1
        if not counter[name]:
            del counter[name]


def _too_many_in_flight(limit: int) -> Problem:
    return Problem(429, "too-many-in-flight", "Too many checks at once",
                   f"Your API key already has {limit} requests being answered. Wait for one of them (or the "
                   "Retry-After seconds) and send this one again; the server answers every key in turn.",
                   headers={"Retry-After": "1"}, limit=limit)


def _busy(why: str) -> Problem:
    return Problem(503, "server-busy", "Server busy", f"{why}. Try again in a few seconds.",
                   headers={"Retry-After": BUSY_RETRY_AFTER_S})


def _malformed(error: h11.RemoteProtocolError) -> Problem:
    status = error.error_status_hint if error.error_status_hint in (400, 431) else 400
    if status == 431:
        return Problem(431, "header-too-large", "Request head too large",
                       f"The request line and headers are over {MAX_HEAD_BYTES} bytes.")
    return Problem(400, "malformed-request", "Malformed HTTP request",
                   f"The request does not follow HTTP/1.1 ({error}). Check the request line and headers "
                   "(no control characters such as NUL in names or values).")
