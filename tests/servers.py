"""The processes under test: our server (`deepfake-guard serve`) and the seed's way, each on a free port.

Memory is read from /proc: VmRSS (resident now) and VmHWM (the peak) of the gunicorn master and
of each worker. Whether a process has TensorFlow loaded is read from its memory map (a file under
a `tensorflow/` package folder mapped in), so the server needs no debug endpoint for it.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 120


def _gunicorn_major() -> int:
    from importlib.metadata import version

    return int(version("gunicorn").split(".")[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def workers(pid: int) -> list[int]:
    """gunicorn's workers under `deepfake-guard serve`'s process (front → gunicorn master → workers)."""
    return [worker for master in children(pid) for worker in children(master)]


def loads_tensorflow(pid: int) -> bool:
    """True when a file of the TensorFlow package is mapped into the process."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "/tensorflow/" in maps or "libtensorflow" in maps


@dataclass
class ProcessMemory:
    role: str          # "front" | "master" | "worker" | "process"
    pid: int
    rss_mb: float
    peak_mb: float
    tensorflow: bool


@dataclass
class Server:
    """A server process tree listening on `url`."""

    name: str
    url: str
    check_path: str
    process: subprocess.Popen
    log_path: Path
    headers: dict = field(default_factory=dict)

    def memory(self) -> list[ProcessMemory]:
        pid = self.process.pid
        kids = children(pid)
        grandchildren = [grandchild for kid in kids for grandchild in children(kid)]
        if grandchildren:  # `deepfake-guard serve`: the front, gunicorn's master, its workers
            roles = [("front", pid)] + [("master", kid) for kid in kids] + [("worker", g) for g in grandchildren]
        else:              # plain gunicorn: master and workers; or one process
            roles = [("master" if kids else "process", pid)] + [("worker", kid) for kid in kids]
        return [ProcessMemory(role, p, _status_kib(p, "VmRSS") / 1024, _status_kib(p, "VmHWM") / 1024,
                              loads_tensorflow(p)) for role, p in roles]

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_ready(server: Server, ready_path: str) -> Server:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + ready_path, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{server.name} was not ready after {READY_TIMEOUT_S} s:\n{server.log_tail()}")


def start_ours(name: str, folder: Path, workers: int, threads: int, runtime_threads: int,
               api_key: str | None = None, extra_env: dict | None = None, serve_args: tuple[str, ...] = ()) -> Server:
    """`deepfake-guard serve` with its own instance folder (own store, image cache and metrics).

    Args:
        api_key: the key clients must send (as the extension does); None: loopback clients need none.
        serve_args: more options for `deepfake-guard serve` (e.g. "--no-front").
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, DFG_INSTANCE_DIR=str(folder / "instance"), DFG_WORKERS=str(workers),
               DFG_THREADS=str(threads), DFG_RUNTIME_THREADS=str(runtime_threads), DFG_API_KEYS=api_key or "",
               # the benchmark sends far more than one user would: no rate limits (empty = none), and
               # one key may have any number of requests in flight (0 = no cap)
               DFG_RATE_LIMIT_PER_KEY="", DFG_RATE_LIMIT_PER_ADDRESS="", DFG_MAX_IN_FLIGHT_PER_KEY="0")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra_env or {})
    command = [str(Path(sys.executable).with_name("deepfake-guard")), "serve", "--host", "127.0.0.1",
               "--port", str(port), *serve_args]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}", "/api/v1/checks", process, log_path,
                    headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    return _wait_ready(server, "/readyz")


def start_seed(folder: Path) -> Server:
    """The seed's way: Keras `model.predict` per image in one gunicorn worker (one request at a time)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
               "--timeout", "120", "--log-level", "warning", "bench.seed_app:create_app()"]
    if _gunicorn_major() >= 27:  # its control socket is one path per user: two servers would share it
        command.insert(-1, "--no-control-socket")
    log_path = folder / "seed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    server = Server("seed", f"http://127.0.0.1:{port}", "/predict", process, log_path)
    return _wait_ready(server, "/ready")
