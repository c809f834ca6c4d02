"""Soak: the served server under mixed load for minutes, with disputes and syncs running.

    python -m bench.soak [--minutes 10] [--clients 4] [--no-labelstudio] [--out bench/out/soak]

Loopback only and bounded: it starts its own server (`deepfake-guard serve`, 2 workers), its own
Label Studio (scripts/labelstudio.sh on a free port, wiped data) and `deepfake-guard worker`
(a sync every 10 s), then runs closed-loop clients that mix new face images, 1920×1080 photos,
no-face photos, repeats (result cache), reads of earlier checks and disputes. It reports every
error (any 5xx, any connection error, any status the contract does not allow), p50/p95 per kind,
the resident memory of the server's processes after warm-up and at the end (growth), and whether
every dispute reached Label Studio exactly once. Goal (issue 8): 0 errors, < 10% memory growth.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.inputs import make_inputs
from bench.load import connect, request
from tests.servers import REPO, Server, free_port, start_ours

API_KEY = "soak-key-0123456789"
WARM_UP_S = 60
SAMPLE_EVERY_S = 15
# Share of each request kind in the mix (the rest: new 256² face JPEGs).
MIX = {"photo1080": 0.15, "noface": 0.10, "repeat": 0.15, "read": 0.10, "dispute": 0.05}
EXPECTED = {"check": {200}, "read": {200}, "dispute": {202}}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    disputed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(server: Server, inputs, stop: threading.Event, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    connection, _ = connect(server.url, timeout=60)
    auth = {"Authorization": f"Bearer {API_KEY}"}
    number = seed * 1_000_000
    while not stop.is_set():
        number += 1
        roll, kind, cumulative = rng.random(), "face256", 0.0
        for name, share in MIX.items():
            cumulative += share
            if roll < cumulative:
                kind = name
                break
        with tally.lock:
            mine = list(tally.checks[-200:])
        if kind in ("read", "dispute") and not mine:
            kind = "face256"
        if kind == "read":
            method, path, body, headers, expect = "GET", f"/api/v1/checks/{rng.choice(mine)}", None, auth, "read"
        elif kind == "dispute":
            check_id = rng.choice(mine)
            method, path, expect = "POST", f"/api/v1/checks/{check_id}/disputes", "dispute"
            body = json.dumps({"label": rng.choice(["real", "fake"]), "comment": "soak"}).encode()
            headers = {**auth, "Content-Type": "application/json"}
        else:
            method, path, expect = "POST", "/api/v1/checks", "check"
            body, headers = inputs.body(kind, number), {**auth, "Content-Type": "image/jpeg"}
        started = time.perf_counter()
        try:
            status, payload = request(connection, method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            with tally.lock:
                tally.errors.append(f"{kind}: {error.__class__.__name__}: {error}")
            connection.close()
            connection, _ = connect(server.url, timeout=60)
            continue
        elapsed = time.perf_counter() - started
        with tally.lock:
            tally.latencies[kind].append(elapsed)
            if status not in EXPECTED[expect]:
                tally.errors.append(f"{kind}: HTTP {status}: {payload[:200]!r}")
            elif expect == "check":
                tally.checks.append(json.loads(payload)["id"])
            elif expect == "dispute":
                tally.disputed.add(path.split("/")[4])
    connection.close()


def _rss_mb(server: Server) -> dict[str, float]:
    return {f"{m.role} {m.pid}": round(m.rss_mb, 1) for m in server.memory()}


def _quantile(values: list[float], q: float) -> float:
    """As the benchmark's report computes percentiles (numpy, linear interpolation)."""
    return float(np.percentile(values, 100 * q)) if values else float("nan")


def _labelstudio(env: dict) -> dict:
    """Start a private Label Studio; the DFG_* variables that reach it."""
    subprocess.run([str(REPO / "scripts" / "labelstudio.sh"), "start"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    exports = subprocess.run([str(REPO / "scripts" / "labelstudio.sh"), "env"], env=env, check=True,
                             capture_output=True, text=True).stdout
    found = {}
    for line in exports.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name.startswith("DFG_"):
            found[name] = value.strip("'\"")
    return found


def _cli(args: list[str], env: dict) -> str:
    command = [str(Path(sys.executable).with_name("deepfake-guard")), *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-labelstudio", action="store_true", help="disputes queue; no syncs run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "soak")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    instance = args.out / "instance"
    env = dict(os.environ, DFG_INSTANCE_DIR=str(instance), LS_HOME=str(args.out / "labelstudio"),
               LS_VENV=os.environ.get("LS_VENV", str(REPO / ".labelstudio" / "venv")), LS_PORT=str(free_port()),
               DFG_SYNC_INTERVAL_SECONDS="10", DFG_LOG_FORMAT="text")
    worker = None
    if not args.no_labelstudio:
        print("starting Label Studio …", flush=True)
        env.update(_labelstudio(env))
        print(_cli(["labelstudio", "setup"], env).strip(), flush=True)
    server = start_ours("soak", args.out, workers=2, threads=4, runtime_threads=1, api_key=API_KEY,
                        extra_env={k: v for k, v in env.items() if k.startswith("DFG_") and k != "DFG_INSTANCE_DIR"})
    try:
        if not args.no_labelstudio:
            worker = subprocess.Popen([str(Path(sys.executable).with_name("deepfake-guard")), "worker"], env=env,
                                      stdout=(args.out / "worker.log").open("wb"), stderr=subprocess.STDOUT)
        inputs, tally, stop = make_inputs(), Tally(), threading.Event()
        clients = [threading.Thread(target=_client, args=(server, inputs, stop, tally, index + 1), daemon=True)
                   for index in range(args.clients)]
        started = time.monotonic()
        for thread in clients:
            thread.start()
        samples: list[tuple[float, dict[str, float]]] = []
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            time.sleep(SAMPLE_EVERY_S)
            if elapsed >= WARM_UP_S:
                samples.append((round(time.monotonic() - started), _rss_mb(server)))
                total = sum(tally.latencies[k].__len__() for k in list(tally.latencies))
                print(f"{samples[-1][0]:>5} s  requests {total:>6}  errors {len(tally.errors)}  "
                      f"RSS {sum(samples[-1][1].values()):.0f} MB", flush=True)
        stop.set()
        for thread in clients:
            thread.join(timeout=90)
        duration = time.monotonic() - started
        report = _report(tally, samples, duration, args)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
            print("final sync …", flush=True)
            report["final_sync"] = _cli(["sync"], env).strip().splitlines()[-1]
            report["labelstudio"] = _disputes_in_labelstudio(env, tally)
        (args.out / "soak.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        server.stop()
        if not args.no_labelstudio:
            subprocess.run([str(REPO / "scripts" / "labelstudio.sh"), "stop"], env=env, stdout=subprocess.DEVNULL)


def _report(tally: Tally, samples, duration: float, args) -> dict:
    first, last = samples[0][1] if samples else {}, samples[-1][1] if samples else {}
    first_total, last_total = sum(first.values()), sum(last.values())
    per_kind = {kind: {"requests": len(values), "p50_ms": round(1000 * _quantile(values, 0.5), 1),
                       "p95_ms": round(1000 * _quantile(values, 0.95), 1)}
                for kind, values in sorted(tally.latencies.items())}
    everything = [v for values in tally.latencies.values() for v in values]
    return {
        "minutes": round(duration / 60, 2), "clients": args.clients,
        "requests": len(everything), "requests_per_second": round(len(everything) / duration, 1),
        "errors": len(tally.errors), "error_samples": tally.errors[:10],
        "p50_ms": round(1000 * _quantile(everything, 0.5), 1), "p95_ms": round(1000 * _quantile(everything, 0.95), 1),
        "per_kind": per_kind,
        "rss_mb_after_warm_up": first, "rss_mb_at_end": last,
        "rss_growth_percent": round(100 * (last_total - first_total) / first_total, 1) if first_total else None,
        "rss_samples_total_mb": [(t, round(sum(s.values()), 1)) for t, s in samples],
        "checks": len(tally.checks), "disputed_checks": len(tally.disputed),
    }


def _disputes_in_labelstudio(env: dict, tally: Tally) -> dict:
    """Every disputed check's image is in exactly one Label Studio task (found by our ext_id).

    Review items are per image (ext_id `dfg-<sha256>`): a disputed check's task may carry the id of
    an earlier check of the same image, so the check is followed to its image in the store.
    """
    code = (
        "import json, sys\n"
        "from collections import Counter\n"
        "from core.settings import Settings\n"
        "from core.store import Check, ReviewItem, Store\n"
        "from feedback.labelstudio import LabelStudioClient\n"
        "s = Settings(); store = Store.for_settings(s)\n"
        "client = LabelStudioClient(s.label_studio_url, s.label_studio_api_key, 60)\n"
        "project = client.find_project(s.label_studio_project)\n"
        "ext_ids = Counter(task.ext_id for task in client.iter_tasks(project.id))\n"
        "disputed = json.loads(sys.stdin.read())\n"
        "with store.session() as session:\n"
        "    shas = {session.get(Check, c).sha256 for c in disputed}\n"
        "    items = session.query(ReviewItem).count()\n"
        "missing = [sha for sha in shas if ext_ids.get('dfg-' + sha, 0) == 0]\n"
        "print(json.dumps({'review_items': items, 'tasks': sum(ext_ids.values()),\n"
        "                  'duplicated_tasks': sum(n - 1 for n in ext_ids.values() if n > 1),\n"
        "                  'disputed_images': len(shas), 'disputed_images_without_a_task': len(missing)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True, capture_output=True,
                            text=True, input=json.dumps(sorted(tally.disputed)))
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
