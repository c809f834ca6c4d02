"""A page scan's load on `deepfake-guard serve`: 50 distinct images sent at once by one key, each retried after
the Retry-After of a 429, while another key checks one image after another (tests/server/test_scan_fairness.py
and `python -m bench.scan_fairness`)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from tests.images import astronaut, coffee, encode
from tests.servers import start_ours

SCANNER, OTHER = "scan-key-0123456789", "other-key-0123456789"
IMAGES = 50


def page_images(count: int = IMAGES) -> list[bytes]:
    """Distinct images: faces at shifted crops and qualities, and photos without a face."""
    face, cup = astronaut(), coffee()
    images = []
    for number in range(count):
        if number % 5 == 4:
            images.append(encode(np.roll(cup, number * 7, axis=1), "JPEG", quality=85))
        else:
            shift = number * 3
            images.append(encode(face[shift:shift + 440, shift // 2:shift // 2 + 440], "JPEG",
                                 quality=80 + number % 15))
    return images


@dataclass
class ScanRun:
    statuses: list[int] = field(default_factory=list)        # every answer the scan got, retries included
    refusals: list[tuple[str, str | None]] = field(default_factory=list)   # (problem slug, Retry-After) of 429s
    failures: list[tuple[int, str]] = field(default_factory=list)          # 5xx answers
    finished: list[float] = field(default_factory=list)      # when each image got its last answer
    other: list[tuple[int, float, float]] = field(default_factory=list)   # another key: (status, seconds, when done)
    started: float = 0.0

    @property
    def scan_seconds(self) -> float:
        return max(self.finished) - self.started


def _post(url: str, key: str, data: bytes, session=requests) -> requests.Response:
    return session.post(url + "/api/v1/checks", data=data, timeout=120,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "image/jpeg"})


def run_scan(url: str, images: list[bytes], other_checks: int = 5) -> ScanRun:
    """All images sent at once by SCANNER (each on its own kept-alive connection, as a browser reuses
    them), retried after Retry-After; meanwhile OTHER's checks one after another."""
    run, lock = ScanRun(), threading.Lock()
    start = threading.Barrier(len(images) + 1)

    def scan_one(data: bytes) -> None:
        session = requests.Session()
        start.wait()
        for _ in range(200):
            response = _post(url, SCANNER, data, session)
            with lock:
                run.statuses.append(response.status_code)
                if response.status_code >= 500:
                    run.failures.append((response.status_code, response.text[:300]))
            if response.status_code != 429:
                break
            retry_after = response.headers.get("Retry-After")
            with lock:
                run.refusals.append((response.json().get("type", "").rsplit("/", 1)[-1], retry_after))
            time.sleep(float(retry_after or 2))
        session.close()
        with lock:
            run.finished.append(time.monotonic())

    threads = [threading.Thread(target=scan_one, args=(data,)) for data in images]
    for thread in threads:
        thread.start()
    start.wait()
    run.started = time.monotonic()
    time.sleep(0.3)   # the scan has filled its share of the workers
    for number in range(other_checks):
        began = time.monotonic()
        response = _post(url, OTHER, encode(astronaut(), "JPEG", quality=70 + number))
        run.other.append((response.status_code, time.monotonic() - began, time.monotonic()))
    for thread in threads:
        thread.join()
    return run


def serve(folder: Path, cap: int):
    return start_ours(f"cap-{cap}", folder, workers=2, threads=2, runtime_threads=1, api_key=SCANNER,
                      extra_env={"DFG_API_KEYS": f"{SCANNER},{OTHER}", "DFG_RATE_LIMIT_PER_KEY": "300/minute",
                                 "DFG_RATE_LIMIT_PER_ADDRESS": "1200/minute",
                                 "DFG_MAX_IN_FLIGHT_PER_KEY": str(cap)})
