"""A page scan of 50 images against `deepfake-guard serve` (front + 2 gunicorn workers × 2 threads), with
the default limits: answered without a 5xx, and another key's checks are not starved.

The scan here is worse-behaved than the extension (which keeps at most its setting in flight): all
50 are sent at once, each retried after the Retry-After of a 429. The front caps one key at
DFG_MAX_IN_FLIGHT_PER_KEY requests at the workers (server/front.py), so the other key's checks are
answered while the scan is still running instead of behind all 50.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import requests

from bench.servers import start_ours
from tests.images import astronaut, coffee, encode

SCANNER, OTHER = "scan-key-0123456789", "other-key-0123456789"
IN_FLIGHT = 3          # the default
IMAGES = 50


def _page_images() -> list[bytes]:
    """50 distinct images: faces at shifted crops and qualities, and photos without a face."""
    face, cup = astronaut(), coffee()
    images = []
    for number in range(IMAGES):
        if number % 5 == 4:
            images.append(encode(np.roll(cup, number * 7, axis=1), "JPEG", quality=85))
        else:
            shift = number * 3
            images.append(encode(face[shift:shift + 440, shift // 2:shift // 2 + 440], "JPEG", quality=80 + number % 15))
    assert len(set(images)) == IMAGES
    return images


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_ours("scan", tmp_path_factory.mktemp("scan"), workers=2, threads=2, runtime_threads=1,
                        api_key=SCANNER, extra_env={"DFG_API_KEYS": f"{SCANNER},{OTHER}",
                                                    "DFG_RATE_LIMIT_PER_KEY": "300/minute",
                                                    "DFG_RATE_LIMIT_PER_ADDRESS": "1200/minute"})
    yield server
    server.stop()


def _post(server, key: str, data: bytes, session=requests) -> requests.Response:
    return session.post(server.url + "/api/v1/checks", data=data, timeout=120,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "image/jpeg"})


def test_a_50_image_scan_gets_no_5xx_and_does_not_starve_another_key(served):
    images = _page_images()
    statuses, refusals, finished, lock = [], [], [], threading.Lock()
    start = threading.Barrier(IMAGES + 1)

    def scan_one(data: bytes) -> None:
        session = requests.Session()   # one kept-alive connection per image, as a browser reuses them
        start.wait()
        for _ in range(200):
            response = _post(served, SCANNER, data, session)
            with lock:
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    refusals.append((response.status_code, response.text[:300]))
            if response.status_code != 429:
                break
            with lock:
                refusals.append((response.json()["type"].rsplit("/", 1)[-1], response.headers.get("Retry-After")))
            time.sleep(float(response.headers["Retry-After"]))
        session.close()
        with lock:
            finished.append(time.monotonic())

    threads = [threading.Thread(target=scan_one, args=(data,)) for data in images]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(0.3)   # the scan has filled its share of the workers
    other = []
    for data in (encode(astronaut(), "JPEG", quality=70 + i) for i in range(5)):
        started = time.monotonic()
        response = _post(served, OTHER, data)
        other.append((response.status_code, time.monotonic() - started, time.monotonic()))
    for thread in threads:
        thread.join()

    assert all(status < 500 for status in statuses), [r for r in refusals if r[0] != "too-many-in-flight"][:3]
    assert statuses.count(200) == IMAGES                       # every image answered in the end
    assert refusals and {slug for slug, _ in refusals} == {"too-many-in-flight"}   # not the rate limit
    assert {after for _, after in refusals} == {"1"}
    assert [status for status, _, _ in other] == [200] * 5      # never refused, never a 5xx
    # the other key's five checks were all answered while the scan was still running
    assert other[-1][2] < max(finished), (other, max(finished) - min(finished))
    print(f"\nscan: {IMAGES} images, {len(refusals)} answers 429 too-many-in-flight, "
          f"done in {max(finished) - min(finished):.1f} s after the first; another key's checks during it: "
          + ", ".join(f"{seconds * 1000:.0f} ms" for _, seconds, _ in other))
