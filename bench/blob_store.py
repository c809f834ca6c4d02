"""Benchmark: files in the instance folder against files in an S3 store, same server, same requests.

    scripts/swift.sh start
    python -m bench.blob_store [--endpoint http://127.0.0.1:58080] [--rounds 40] [--switches 4]

Two `deepfake-guard serve` (1 worker × 4 threads each, SQLite): one keeps files in its instance folder, the other
in a bucket of the store (DFG_BLOB_URL, the model registry shared through it). Each round, on both servers in turn
and a new order each round: a check of a new face photo (its image kept for disputes), a dispute of it, and the
explanation of a face of it. Then model switches: a promote, timed until the server answers with the new version
(the object store's server polls every DFG_MODEL_POLL_SECONDS=1 and fetches the model by hash the first time).
Prints p50 / p95 side by side and the difference of the p50s.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import requests

from core.registry import Registry
from core.settings import Settings
from core.shared_models import open_registry
from tests import servers
from tests.images import distinct_face_jpegs
from tests.model_versions import register_copy
from tests.scale_services import S3_CREDENTIALS, s3_bucket

KEY = "bench-blob-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHECK_BUDGET_MS = 10.0        # what the object store may add to a check's p50 (issue 33)


def _timed(call) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response


def _round(server, data: bytes, into: dict) -> None:
    ms, check = _timed(lambda: requests.post(f"{server.url}/api/v1/checks", data=data, timeout=60,
                                             headers={**AUTH, "Content-Type": "image/jpeg"}))
    assert check.status_code == 200, check.text
    into["check"].append(ms)
    check_id = check.json()["id"]
    ms, dispute = _timed(lambda: requests.post(f"{server.url}/api/v1/checks/{check_id}/disputes", headers=AUTH,
                                               json={"label": "fake"}, timeout=60))
    assert dispute.status_code == 202, dispute.text
    into["dispute"].append(ms)
    ms, explained = _timed(lambda: requests.get(f"{server.url}/api/v1/checks/{check_id}/explanation?face=0",
                                                headers=AUTH, timeout=60))
    assert explained.status_code == 200, explained.text
    into["explanation"].append(ms)


def _switch(server, registry: Registry, version: str) -> float:
    registry.promote(version, note="bench")
    started = time.perf_counter()
    while requests.get(f"{server.url}/api/v1/model", headers=AUTH, timeout=60).json()["version"] != version:
        if time.perf_counter() - started > 60:
            raise RuntimeError(f"{server.name} did not switch to {version} in 60 s:\n{server.log_tail()}")
        time.sleep(0.02)
    return (time.perf_counter() - started) * 1000


def _row(name: str, local: list[float], remote: list[float]) -> str:
    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]
    return (f"| {name} | {len(local)} | {p(local, 50):.1f} / {p(local, 95):.1f} | {p(remote, 50):.1f} / "
            f"{p(remote, 95):.1f} | {p(remote, 50) - p(local, 50):+.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:58080", help="the S3 store (scripts/swift.sh url)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--switches", type=int, default=4)
    args = parser.parse_args()

    for name, value in S3_CREDENTIALS.items():      # scripts/swift.sh's test user, unless others are set
        os.environ.setdefault(name, value)
    with s3_bucket("bench", endpoint=args.endpoint) as bucket, \
            tempfile.TemporaryDirectory(prefix="dfg-bench-blobs-") as scratch:
        s3_env = {**bucket, "DFG_MODEL_POLL_SECONDS": "1"}
        scratch = Path(scratch)
        local = servers.start_ours("folder", scratch / "folder", 1, 4, 1, api_key=KEY)
        remote = servers.start_ours("object store", scratch / "s3", 1, 4, 1, api_key=KEY, extra_env=s3_env)
        try:
            registries = {
                "folder": Registry.for_instance(scratch / "folder" / "instance"),
                # another host's registry: the server has no copy, so its first switch fetches the files by hash
                "object store": open_registry(Settings(
                    instance_dir=scratch / "publisher", blob_url=s3_env["DFG_BLOB_URL"], s3_endpoint_url=args.endpoint,
                    database_url=f"sqlite:///{scratch / 's3' / 'instance' / 'deepfake-guard.sqlite3'}")),
            }
            versions = ["bench-v1", "bench-v2"]
            for name, registry in registries.items():
                for version in versions:
                    register_copy(registry, version, scratch / f"models-{name.replace(' ', '-')}")
            times = {name: {"check": [], "dispute": [], "explanation": [], "switch": []} for name in registries}
            photos = distinct_face_jpegs(2 * args.rounds + 4)
            warm_up = iter(photos[2 * args.rounds:])
            for server in (local, remote, local, remote):     # not counted
                _round(server, next(warm_up), {name: [] for name in times["folder"]})
            rng = random.Random(7)
            for index in range(args.rounds):
                pair = [(local, photos[2 * index]), (remote, photos[2 * index + 1])]
                rng.shuffle(pair)
                for server, data in pair:
                    _round(server, data, times[server.name])
            for index in range(args.switches):
                for server in (local, remote):
                    times[server.name]["switch"].append(_switch(server, registries[server.name],
                                                                versions[index % 2]))
        finally:
            local.stop()
            remote.stop()

    folder, store = times["folder"], times["object store"]
    print(f"\nbench.blob_store: {args.rounds} rounds, {args.switches} model switches each; ms over HTTP, "
          f"1 worker × 4 threads, SQLite; object store {args.endpoint} (Swift s3api on this machine)\n")
    print("| request | n | instance folder p50 / p95 | object store p50 / p95 | p50 difference |")
    print("|---|---|---|---|---|")
    for name in ("check", "dispute", "explanation"):
        print(_row(name, folder[name], store[name]))
    print(_row("model switch (promote → served)", folder["switch"], store["switch"]))
    print(f"\nobject-store switch times in order (the first fetches the model): "
          f"{', '.join(f'{ms:.0f}' for ms in store['switch'])} ms")
    added = statistics.median(store["check"]) - statistics.median(folder["check"])
    verdict = "within" if added <= CHECK_BUDGET_MS else "OVER"
    print(f"check p50 added by the object store: {added:+.1f} ms ({verdict} the {CHECK_BUDGET_MS:.0f} ms budget)")


if __name__ == "__main__":
    main()
