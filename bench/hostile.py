"""Cheap hostile requests against `deepfake-guard serve` as the README runs it (2 workers × 2 threads),
side by side with a baseline (another checkout of this repository) in the same run.

    python -m bench.hostile [--baseline PATH_TO_OLD_CHECKOUT] [--out bench/out/hostile]

Loopback only. Each of issue 18's nine findings is one row: what the attacker sends, and what it
cost or answered. Server CPU is the CPU time of the whole process tree (front, master, workers)
read from /proc; memory is each worker's peak resident set (VmHWM). `/healthz` latency is the worst
of polls every 0.25 s while the attack runs. (`git worktree add /tmp/old <commit>` makes a baseline.)
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from PIL import Image

from tests.local_site import trickling_upstream
from tests.servers import REPO, Server, _wait_ready, children, free_port, start_ours

KEY = "hostile-key-0123456789"
# The per-key and per-address limits would stop the load rows (one key, one address, 60 checks a
# second); they are tested in tests/server/test_limits_and_logs.py. The failed-key limit stays at
# its default (30/minute), which rows 6 and 7 meet. The per-key cap on requests in flight is off for
# both servers as well (tests.servers.start_ours turns it off for ours; the baseline must match).
LIMITS = {"DFG_RATE_LIMIT_PER_KEY": "", "DFG_RATE_LIMIT_PER_ADDRESS": "", "DFG_MAX_IN_FLIGHT_PER_KEY": "0"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _png(width: int, height: int, mode: str = "RGB", shade: int = 0) -> bytes:
    """A flat PNG; another shade is another image (the result cache must not answer for it)."""
    buffer = io.BytesIO()
    colour = {"RGB": (shade, 0, 0), "RGBA": (shade, 0, 0, 255)}.get(mode, shade)
    Image.new(mode, (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _tree(pid: int) -> list[int]:
    found = [pid]
    for child in children(pid):
        found += _tree(child)
    return found


def _cpu_seconds(server: Server) -> float:
    total = 0
    for pid in _tree(server.process.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def _peak_worker_mb(server: Server) -> float:
    return max((m.peak_mb for m in server.memory() if m.role == "worker"), default=0.0)


def _address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _post(server: Server, body: bytes, content_type: str = "image/png", key: str | None = KEY,
          timeout: float = 120) -> tuple[int, str]:
    connection = http.client.HTTPConnection(*_address(server), timeout=timeout)
    try:
        connection.request("POST", "/api/v1/checks", body=body,
                           headers={"Content-Type": content_type, **({"Authorization": f"Bearer {key}"} if key else {})})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", "")
    except (OSError, http.client.HTTPException) as error:
        return 0, type(error).__name__
    finally:
        connection.close()


class HealthProbe:
    """Polls /healthz every 0.25 s in a thread; the worst wait while it ran (a timeout counts as 5 s)."""

    def __init__(self, server: Server) -> None:
        self.server, self.waits, self._stop = server, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            connection = http.client.HTTPConnection(*_address(self.server), timeout=5)
            try:
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                self.waits.append(time.monotonic() - started)
            except (OSError, http.client.HTTPException):
                self.waits.append(5.0)
            finally:
                connection.close()
            time.sleep(0.25)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def worst(self) -> float:
        return max(self.waits, default=0.0)


def _lone_checks(server: Server) -> str:
    """What the front costs a well-behaved client: median latency of /healthz and of a 256² face check."""
    from bench.inputs import face_jpegs

    faces = face_jpegs()
    healthz, checks = [], []
    connection = http.client.HTTPConnection(*_address(server), timeout=60)
    for number in range(60):
        started = time.perf_counter()
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        healthz.append(time.perf_counter() - started)
        if number < 40:
            started = time.perf_counter()
            connection.request("POST", "/api/v1/checks", body=faces[number % len(faces)] + bytes([number]),
                               headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {KEY}"})
            connection.getresponse().read()
            checks.append(time.perf_counter() - started)
    connection.close()
    return f"healthz {1000 * statistics.median(healthz):.2f} ms; face check {1000 * statistics.median(checks[5:]):.1f} ms"


def _under_load(server: Server) -> str:
    """What the front costs under load: 4 closed-loop clients sending new 256² faces for 20 s."""
    import itertools

    from bench.inputs import face_jpegs
    from bench.load import run_burst

    faces = face_jpegs()
    burst = run_burst(server.url + "/api/v1/checks", lambda n: faces[n % len(faces)] + n.to_bytes(4, "big"),
                      clients=4, seconds=20, warmup=3, counter=itertools.count(1000),
                      headers={"Authorization": f"Bearer {KEY}"})
    return (f"{burst.images_per_second:.1f} images/s, p50 {1000 * statistics.median(burst.latencies):.1f} ms, "
            f"{len(burst.errors)} errors")


def _thin(server: Server) -> str:
    statuses = [_post(server, _png(w, h))[0] for w, h in ((1000, 1), (1, 20000), (2000, 2))]
    return " ".join(map(str, statuses))


def _strip_cost(server: Server) -> str:
    strip = _png(4_000_000, 12)
    before, started = _cpu_seconds(server), time.monotonic()
    status, _ = _post(server, strip)
    return f"{status} in {time.monotonic() - started:.2f} s, {_cpu_seconds(server) - before:.2f} CPU-s"


def _four_at_once(server: Server, bodies: list[bytes]) -> str:
    before = _cpu_seconds(server)
    with HealthProbe(server) as probe, concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda body: _post(server, body)[0], bodies))
    return f"{'/'.join(map(str, statuses))}; healthz worst {probe.worst:.2f} s; {_cpu_seconds(server) - before:.1f} CPU-s"


def _big_rgba(server: Server) -> str:
    square = _png(7000, 7000, "RGBA")
    started = time.monotonic()
    status, _ = _post(server, square)
    return f"{status} in {time.monotonic() - started:.2f} s"


def _slow_clients(server: Server, seconds: float = 20) -> str:
    sockets = []
    for _ in range(4):
        sock = socket.create_connection(_address(server), timeout=5)
        sock.sendall(b"POST /api/v1/checks HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    with HealthProbe(server) as probe:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for sock in sockets:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(2)
    for sock in sockets:
        sock.close()
    return f"healthz worst {probe.worst:.2f} s over {seconds:g} s"


def _url_check_against_a_trickle(server: Server, site_port: int) -> str:
    started = time.monotonic()
    connection = http.client.HTTPConnection(*_address(server), timeout=120)
    connection.request("POST", "/api/v1/checks", body=json.dumps({"url": f"http://127.0.0.1:{site_port}/a.jpg"}),
                       headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    response = connection.getresponse()
    response.read()
    return f"{response.status} after {time.monotonic() - started:.1f} s (deadline 15 s)"


def _rotating_keys(server: Server) -> str:
    statuses = []
    connection = http.client.HTTPConnection(*_address(server), timeout=30)
    for number in range(200):
        connection.request("GET", "/api/v1/model", headers={"Authorization": f"Bearer invented-{number}"})
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()
    return f"{statuses.count(429)} of 200 got 429 (first at #{statuses.index(429) + 1 if 429 in statuses else '-'})"


def _burst(server: Server) -> str:
    body = os.urandom(100_000)
    dropped, statuses, lock = [], [], threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(*_address(server), timeout=30)
        for number in range(50):
            try:
                connection.request("POST", "/api/v1/checks", body=body, headers={
                    "Content-Type": "image/jpeg", "Authorization": f"Bearer burst-{number}"})
                response = connection.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
            except (OSError, http.client.HTTPException):
                with lock:
                    dropped.append(1)
                connection.close()
                connection = http.client.HTTPConnection(*_address(server), timeout=30)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"{len(dropped)} dropped of 200; {statuses.count(429)} × 429"


def _chunked(server: Server) -> str:
    with socket.create_connection(_address(server), timeout=60) as sock:
        sock.sendall(f"POST /api/v1/checks HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nAuthorization: Bearer {KEY}"
                     "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode())
        chunk = b"%x\r\n" % (1024 * 1024) + b"\xff" * (1024 * 1024) + b"\r\n"
        try:
            for _ in range(12):
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace").removeprefix("HTTP/1.1 ")


def _photo_1080p() -> bytes:
    """A 1920×1080 JPEG of about 2 MB, as a phone's photo is: noise keeps it from compressing away."""
    import numpy as np

    pixels = np.random.default_rng(29).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _early_answers(server: Server) -> str:
    """Issue 29: the app refuses these before it reads the ~2 MB body; what reaches the client."""
    photo = _photo_1080p()
    form = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--b--\r\n")
    statuses = [_post(server, photo, "image/jpeg", key=None)[0],
                _post(server, form, "multipart/form-data; boundary=b", key=None)[0],
                _post(server, photo, "image/jpeg", key="dfg_nope")[0], _post(server, photo, "application/pdf")[0]]
    return "; ".join(f"{what} {status}" for what, status in
                     zip(("no key raw", "no key multipart", "unknown key", "PDF type"), statuses))


def _smaller(server: Server) -> str:
    fields = "".join(f"--b\r\nContent-Disposition: form-data; name=\"f{n}\"\r\n\r\nx\r\n" for n in range(5000))
    form = (fields + "--b--\r\n").encode()
    form_status, _ = _post(server, form, "multipart/form-data; boundary=b")
    png = bytearray(_png(40, 40))
    png[29] ^= 0xFF
    crc_status, _ = _post(server, bytes(png))
    avif = io.BytesIO()
    Image.new("RGB", (64, 64)).save(avif, "AVIF")
    avif_status, _ = _post(server, avif.getvalue()[:200], "image/avif")
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n")
        head = sock.recv(65536).split(b"\r\n\r\n")[0].decode(errors="replace")
    nul_type = "problem+json" if "problem+json" in head.lower() else ("html" if "html" in head.lower() else "?")
    nul_status = head.split(" ", 2)[1] if " " in head else "?"
    return f"form {form_status}; bad CRC {crc_status}; truncated AVIF {avif_status}; NUL header {nul_status} {nul_type}"


SCENARIOS = [
    ("0 a well-behaved client, one at a time (median)", _lone_checks),
    ("0 four well-behaved clients, new faces for 20 s", _under_load),
    ("1 thin PNGs 1000×1, 1×20000, 2000×2", _thin),
    ("2 4,000,000×12 PNG (140 KB)", _strip_cost),
    ("2 four of it at once", lambda s: _four_at_once(s, [_png(4_000_000, 12, shade=k) for k in (1, 2, 3, 4)])),
    ("3 7000×7000 RGBA PNG (190 KB)", _big_rgba),
    ("3 four of it at once", lambda s: _four_at_once(s, [_png(7000, 7000, "RGBA", shade=k) for k in (1, 2, 3, 4)])),
    ("3 the largest accepted: four 6000×6000 RGB PNGs at once",
     lambda s: _four_at_once(s, [_png(6000, 6000, "RGB", shade=k) for k in (1, 2, 3, 4)])),
    ("4 four slow-header connections, 20 s", _slow_clients),
    ("10 a 1920×1080 photo (~2 MB) the app refuses before reading it", _early_answers),
    ("6 200 invented keys from one address", _rotating_keys),
    ("7 200-request burst, 100 KB bodies", _burst),
    ("8 12 MB chunked upload", _chunked),
    ("9 5000-field form; bad PNG CRC; cut AVIF; NUL", _smaller),
]


def start_baseline(checkout: Path, folder: Path, env_extra: dict) -> Server:
    """`deepfake-guard serve` of another checkout (its own code on PYTHONPATH, its own gunicorn config)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, DFG_INSTANCE_DIR=str(folder / "instance"), DFG_API_KEYS=KEY, PYTHONPATH=str(checkout),
               **env_extra)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-c", "import sys; from cli import main; sys.argv[0] = 'deepfake-guard'; main()",
               "serve", "--host", "127.0.0.1", "--port", str(port)]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=checkout, stdout=log, stderr=subprocess.STDOUT)
    return _wait_ready(Server("baseline", f"http://127.0.0.1:{port}", "/api/v1/checks", process, log_path), "/readyz")


def measure(server: Server, site_port: int) -> dict[str, str]:
    rows = {}
    for name, scenario in SCENARIOS:
        rows[name] = scenario(server)
        print(f"  {server.name}: {name}: {rows[name]}", flush=True)
    rows["5 URL check, upstream trickles headers"] = _url_check_against_a_trickle(server, site_port)
    rows["peak worker memory (VmHWM)"] = f"{_peak_worker_mb(server):.0f} MB"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "hostile")
    arguments = parser.parse_args()
    shutil.rmtree(arguments.out, ignore_errors=True)  # no result cache from an earlier run
    site_port = trickling_upstream().getsockname()[1]
    env_extra = {**LIMITS, "DFG_FETCH_ALLOW_HOSTS": f"127.0.0.1:{site_port}"}
    results = {}
    if arguments.baseline:
        server = start_baseline(arguments.baseline.resolve(), arguments.out / "baseline", env_extra)
        try:
            results["baseline"] = measure(server, site_port)
        finally:
            server.stop()
    server = start_ours("this checkout", arguments.out / "ours", workers=2, threads=2, runtime_threads=1,
                        api_key=KEY, extra_env=env_extra)
    try:
        results["this checkout"] = measure(server, site_port)
    finally:
        server.stop()
    names = list(results)
    print("\n| finding | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for row in results[names[-1]]:
        print(f"| {row} | " + " | ".join(results[name].get(row, "") for name in names) + " |")
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
