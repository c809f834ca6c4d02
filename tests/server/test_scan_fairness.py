"""A page scan of 50 images against `deepfake-guard serve` (front + 2 gunicorn workers × 2 threads), with
the default limits: answered without a 5xx, and another key's checks are not starved.

The scan here is worse-behaved than the extension (which keeps at most its setting in flight): all
50 are sent at once, each retried after the Retry-After of a 429. The front caps one key at
DFG_MAX_IN_FLIGHT_PER_KEY requests at the workers (server/front.py), so the other key's checks are
answered while the scan is still running instead of behind all 50. Timings: bench/scan_fairness.py.
"""
from __future__ import annotations

import pytest

from tests.scan_load import IMAGES, page_images, run_scan, serve


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(tmp_path_factory.mktemp("scan"), cap=3)   # the default cap
    yield server
    server.stop()


def test_a_50_image_scan_gets_no_5xx_and_does_not_starve_another_key(served):
    images = page_images()
    assert len(set(images)) == IMAGES
    run = run_scan(served.url, images)

    assert run.failures == []                                   # no 5xx, retries included
    assert run.statuses.count(200) == IMAGES                    # every image answered in the end
    assert run.refusals and {slug for slug, _ in run.refusals} == {"too-many-in-flight"}   # not the rate limit
    assert {after for _, after in run.refusals} == {"1"}
    assert [status for status, _, _ in run.other] == [200] * 5  # the other key: never refused, never a 5xx
    # its five checks were all answered while the scan was still running
    assert run.other[-1][2] < max(run.finished)
