"""Fetching an image by URL without SSRF: only public addresses, checked at every hop.

The host name is resolved once per hop and the connection goes to the address that was checked,
so a DNS answer cannot change between the check and the connect (no rebinding window). Numeric
hosts are parsed in every spelling the C library accepts (decimal, octal, hex, short forms), so
`http://2130706433/` or `http://0x7f.1/` are recognised as loopback, not looked up.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from server.errors import Problem

MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
USER_AGENT = "DeepfakeGuard/1 (+image check)"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the system resolver gives for a host name."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _refused(detail: str, **extra: object) -> Problem:
    return Problem(422, "url-refused", "URL refused", detail, **extra)


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's reading of a numeric host: 1–4 parts, each decimal, octal (0…) or hex (0x…)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    values = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for value in head:
        number = number * 256 + value
    number = number * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(number)


def host_address(host: str) -> IPAddress | None:
    """The address a URL host denotes literally (IPv4 in any spelling, or [IPv6]); None for a name."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return parse_ipv4(host)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside IPv4-mapped, -compatible, 6to4, Teredo and NAT64 IPv6 addresses."""
    if not isinstance(address, ipaddress.IPv6Address) or address.is_loopback or address.is_unspecified:
        return None  # ::1 and :: are themselves, not IPv4-compatible 0.0.0.1 / 0.0.0.0
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    packed = address.packed
    if packed[:12] == bytes(12) and packed[12:] != bytes(4):  # ::a.b.c.d (IPv4-compatible, deprecated)
        return ipaddress.IPv4Address(packed[12:])
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(packed[12:])
    return None


def why_not_public(address: IPAddress) -> str | None:
    """The reason an address may not be fetched, or None when it is a public unicast address."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = why_not_public(inner)
        return f"it embeds {inner}, which {reason}" if reason else None
    for check, reason in ((address.is_unspecified, "is unspecified"), (address.is_loopback, "is loopback"),
                          (address.is_link_local, "is link-local"), (address.is_multicast, "is multicast"),
                          (address.is_reserved, "is reserved"), (address.is_private, "is private")):
        if check:
            return reason
    return None if address.is_global else "is not a public address"


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    url: str          # after redirects


class Fetcher:
    """GET an image from a public URL under the upload limit, following at most MAX_REDIRECTS."""

    def __init__(self, max_bytes: int, allow_hosts: list[str] | tuple[str, ...] = (),
                 resolver: Resolver = system_resolver) -> None:
        self.max_bytes = max_bytes
        self.allow_hosts = {entry.strip().lower() for entry in allow_hosts if entry.strip()}
        self.resolver = resolver

    def _allowed(self, host: str, port: int) -> bool:
        return host.lower() in self.allow_hosts or f"{host.lower()}:{port}" in self.allow_hosts

    def _address(self, host: str, port: int) -> str:
        """The one address to connect to, after checking every address the host has."""
        literal = host_address(host)
        if literal is not None:
            candidates = [literal]
        else:
            try:
                candidates = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
            except (OSError, UnicodeError, ValueError) as error:
                raise _refused(f"The host '{host}' could not be resolved ({error}).") from None
            if not candidates:
                raise _refused(f"The host '{host}' has no address.")
        if not self._allowed(host, port):
            for address in candidates:
                reason = why_not_public(address)
                if reason:
                    raise _refused(f"The host '{host}' resolves to {address}, which {reason.removeprefix('it ')}; "
                                   "the server only fetches images from public addresses.", address=str(address))
        return str(candidates[0])

    def fetch(self, url: str) -> Fetched:
        """Fetch `url`; raises Problem (422 refused/failed, 413 too large, 415 not an image)."""
        deadline = time.monotonic() + TOTAL_TIMEOUT
        for _hop in range(MAX_REDIRECTS + 1):
            status, headers, body, url = self._get(url, deadline)
            if status in (301, 302, 303, 307, 308):
                location = headers.get("location")
                if not location:
                    raise _refused(f"{url} answered {status} without a Location header.")
                url = urljoin(url, location)
                continue
            if status != 200:
                raise _refused(f"Fetching {url} failed: the server answered HTTP {status}.", upstream_status=status)
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if not (content_type.startswith("image/") or content_type in ("application/octet-stream", "")):
                raise Problem(415, "not-an-image-url", "URL is not an image",
                              f"{url} has content type '{content_type}', not an image. Link the image itself.")
            return Fetched(body, content_type, url)
        raise _refused(f"More than {MAX_REDIRECTS} redirects; the last went to {url}.")

    def _get(self, url: str, deadline: float) -> tuple[int, dict, bytes, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _refused(f"Only http and https URLs can be checked, not '{parts.scheme or 'none'}:'.")
        if parts.username or parts.password:
            raise _refused("URLs with credentials (user:password@) are not fetched.")
        host = parts.hostname
        if not host:
            raise _refused("The URL has no host.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise _refused("The URL's port is not a number between 0 and 65535.") from None
        address = self._address(host, port)
        connection = _connection(parts.scheme, host, address, port, max(0.1, min(CONNECT_TIMEOUT, deadline - time.monotonic())))
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        # The deadline holds on every read, headers included: a per-read timeout alone lets an upstream
        # that trickles a header line every few seconds hold the request for as long as it likes.
        watchdog = _Watchdog(connection.sock, deadline)
        try:
            connection.request("GET", path, headers={"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT,
                                                     "Accept": "image/*"})
            connection.sock.settimeout(max(0.1, min(READ_TIMEOUT, deadline - time.monotonic())))
            response = connection.getresponse()
            headers = {k.lower(): v for k, v in response.getheaders()}
            body = b"" if response.status in (301, 302, 303, 307, 308) else self._read(response, url, deadline)
            if watchdog.fired:  # the socket was shut down under a read that then looked like the end
                raise _late(url)
            return response.status, headers, body, url
        except (OSError, http.client.HTTPException) as error:
            if watchdog.fired:
                raise _late(url) from None
            raise _refused(f"Fetching {url} failed ({error.__class__.__name__}: {error}).") from None
        finally:
            watchdog.cancel()
            connection.close()

    def _read(self, response: http.client.HTTPResponse, url: str, deadline: float) -> bytes:
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise _too_large(url, self.max_bytes)
        chunks, total = [], 0
        while True:
            if time.monotonic() > deadline:
                raise _late(url)
            chunk = response.read(64 * 1024)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > self.max_bytes:
                raise _too_large(url, self.max_bytes)
            chunks.append(chunk)


class _Watchdog:
    """Shuts the socket down at the deadline, whatever read it is blocked in."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.fired = False
        self._sock = sock
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        self._timer.cancel()


def _late(url: str) -> Problem:
    return _refused(f"Fetching {url} took longer than {TOTAL_TIMEOUT:g} s in all; the server stopped waiting.",
                    limit_seconds=TOTAL_TIMEOUT)


def _too_large(url: str, limit: int) -> Problem:
    return Problem(413, "payload-too-large", "Image too large",
                   f"The image at {url} is larger than the limit of {limit} bytes (DFG_MAX_UPLOAD_BYTES).",
                   limit_bytes=limit)


def _connection(scheme: str, host: str, address: str, port: int, timeout: float) -> http.client.HTTPConnection:
    """A connection to the checked address; TLS verifies the certificate for the URL's host name."""
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as error:
        raise _refused(f"Could not connect to {host} ({address}:{port}): {error}.") from None
    if scheme == "https":
        try:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        except (ssl.SSLError, OSError) as error:
            sock.close()
            raise _refused(f"TLS with {host} failed: {error}.") from None
        connection = http.client.HTTPSConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.sock = sock  # already connected to the checked address: http.client will not reconnect
    return connection
