"""gunicorn settings for `deepfake-guard serve` and `gunicorn 'server:create_app()'`.

Read from DFG_* variables through the same Settings object as the app.

Concurrency (DFG_WORKERS, DFG_THREADS, DFG_RUNTIME_THREADS) is measured with `python -m bench.run`
(BENCHMARKS.md, "Choosing workers and threads"). On 2 cores the default is 2 workers × 2 threads,
1 runtime thread each: one worker per core, so the Python parts of two checks (decoding, HTTP, the
store) run in parallel without the GIL between them; 1 runtime thread each, so two busy workers
never ask for more threads than there are cores (2 × 4 × 2 oversubscribed: 76 face images/s
under 16 clients against 114); 2 request threads each, so one check's I/O overlaps another's
compute, and at most 2 decoded photos per worker at a time (peak 246 MB per worker against
323 MB with 4 threads). The price is a slightly slower lone request (16.6 vs 13.6 ms for a 256²
face), still well inside the 25 ms target.
"""
import ctypes
import os
import sys
from pathlib import Path

from core.settings import Settings

_settings = Settings()
M_ARENA_MAX = -8      # glibc malloc.h
MALLOC_ARENAS = 2

bind = "127.0.0.1:8000"
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Each worker loads its own model: forking a loaded ONNX Runtime session is not safe.
preload_app = False
# The workers' heartbeat files in RAM: a slow disk (fsyncs of the store) must not stall them.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No control socket: every gunicorn on a machine would share $HOME/.gunicorn/gunicorn.ctl.
control_socket_disable = True
# No gunicorn access log: the app writes one JSON line per request (server.access, with the
# request id and the duration), which would otherwise appear twice in two formats.
accesslog = None
errorlog = "-"

# Prometheus metrics from every worker (server/metrics.py): each worker writes its values to files
# here and /metrics merges them. The variable must be set before a worker imports
# prometheus_client, hence here in the master, which the workers inherit it from.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_settings.instance_path() / "prometheus"))
if "prometheus_client" in sys.modules:  # its metrics would stay per worker, and /metrics would lie
    raise RuntimeError("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set")


def on_starting(server) -> None:
    """Start the metrics from zero: files of an earlier run's workers would be counted again."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def post_fork(server, worker) -> None:
    """At most MALLOC_ARENAS glibc malloc arenas per worker.

    glibc gives each thread that allocates at once its own arena (up to 8 per core), and large
    decoded photos leave each arena holding freed memory: with 4 threads, 16 clients sending
    1920×1080 photos took a worker to a 313 MB peak, 268 MB with 2 arenas. Set here, in the worker
    before its threads start, because MALLOC_ARENA_MAX in the environment is read only at exec.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: its allocator has no arenas to cap
        pass


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges (its counters and histograms stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_request(worker, req, environ, resp) -> None:
    """Read what the app left of the request's body (up to DFG_MAX_UPLOAD_BYTES) before gunicorn closes.

    The app answers some requests before it reads their body (401, 415, 429). gunicorn then closes the
    connection, draining at most 64 KB: a socket closed with more unread bytes sends a reset, which can
    destroy the answer before a client that sends its whole body first (a proxy in front of
    `serve --no-front`) has read it. After a body the app read, this reads nothing.
    """
    left = _settings.max_upload_bytes
    try:
        while left > 0:
            chunk = req.body.read(min(left, 64 * 1024))
            if not chunk:
                break
            left -= len(chunk)
    except Exception:  # the client went away, or sent a broken chunked body: nothing left to protect
        pass
