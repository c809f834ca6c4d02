"""A page scan of 50 images against `deepfake-guard serve`, with and without the front's per-key cap on
requests in flight (DFG_MAX_IN_FLIGHT_PER_KEY), side by side: how long another key's checks wait meanwhile.

    python -m bench.scan_fairness [--cap 3]

The scan is worse-behaved than the extension (which keeps at most its setting in flight): all 50
images are sent at once, each retried after the Retry-After of a 429. Five checks by another key are
sent one after another once the scan has started. 2 workers × 2 threads, the default rate limits.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tests.images import astronaut, encode
from tests.scan_load import OTHER, _post, page_images, run_scan, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cap", type=int, default=3, help="the cap to compare with no cap (0)")
    args = parser.parse_args()
    images = page_images()
    print(f"{'DFG_MAX_IN_FLIGHT_PER_KEY':<26} {'scan done':>9} {'429s':>5} {'5xx':>4} "
          f"{'other key: each of 5 checks, ms':<36} {'median':>6}")
    for cap in (0, args.cap):
        with tempfile.TemporaryDirectory() as folder:
            server = serve(Path(folder), cap)
            try:
                _post(server.url, OTHER, encode(astronaut(), "JPEG", quality=60))   # warm both workers
                run = run_scan(server.url, images)
            finally:
                server.stop()
        waits = [seconds * 1000 for _, seconds, _ in run.other]
        print(f"{cap if cap else '0 (no cap)':<26} {run.scan_seconds:8.1f}s {len(run.refusals):5d} "
              f"{len(run.failures):4d} {', '.join(f'{w:.0f}' for w in waits):<36} {statistics.median(waits):6.0f}")


if __name__ == "__main__":
    main()
