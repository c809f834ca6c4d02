"""Closed-loop HTTP load: N clients, each sends a request, waits for the answer, sends the next.

Plain `http.client` with one keep-alive connection per client (as a browser keeps one to the
server): the load generator runs on the same 2 cores as the servers, so it must cost little.
"""
from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Burst:
    """What one burst of requests measured."""

    latencies: list[float] = field(default_factory=list)      # seconds, client side
    server_ms: list[float] = field(default_factory=list)      # `elapsed_ms` the server reported, if any
    cached: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0                                       # measured window

    def extend(self, other: Burst) -> None:
        self.latencies += other.latencies
        self.server_ms += other.server_ms
        self.cached += other.cached
        self.errors += other.errors
        self.seconds += other.seconds

    @property
    def images_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def connect(url: str, timeout: float = 120) -> tuple[http.client.HTTPConnection, str]:
    """A keep-alive connection to `url`'s host, and `url`'s path."""
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), parts.path


def request(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
            headers: dict) -> tuple[int, bytes]:
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def post(connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    return request(connection, "POST", path, body, {"Content-Type": "image/jpeg", **headers})


def run_burst(url: str, body: Callable[[int], bytes], clients: int, seconds: float, warmup: float,
              counter: itertools.count, headers: dict | None = None) -> Burst:
    """Load `url` with `clients` closed-loop clients for warmup + seconds; measure the last `seconds`.

    Args:
        body: the request body for request number n (each request draws a new n from `counter`).
        warmup: seconds of requests that are not measured (connections, caches, thread pools).
    """
    headers = headers or {}
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    results = [Burst() for _ in range(clients)]

    def client(result: Burst) -> None:
        connection, path = connect(url)
        try:
            while True:
                data = body(next(counter))
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                try:
                    status, payload = post(connection, path, data, headers)
                except (OSError, http.client.HTTPException) as error:
                    result.errors.append(f"{type(error).__name__}: {error}")
                    connection.close()
                    connection, path = connect(url)
                    continue
                done = time.perf_counter()
                if not measure_from <= done <= stop_at:  # throughput: answers completed in the window
                    continue
                if status != 200:
                    result.errors.append(f"HTTP {status}: {payload[:200]!r}")
                    continue
                result.latencies.append(done - sent)
                answer = json.loads(payload)
                if "elapsed_ms" in answer:
                    result.server_ms.append(answer["elapsed_ms"])
                result.cached += bool(answer.get("cached"))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(result,), daemon=True) for result in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Burst(seconds=seconds)
    for result in results:
        total.extend(result)
    total.seconds = seconds
    return total
