"""What `deepfake-guard serve` runs: the buffering front (server/front.py) on the public address, and
gunicorn as its child on a private Unix socket.

- The public port is bound first, so a port in use fails at once; clients that connect while the
  workers boot wait in the listen queue.
- gunicorn's socket lives in a fresh 0700 folder: no other local user can reach the app around the front.
- SIGTERM / SIGINT: stop accepting, let gunicorn finish its requests (its graceful timeout), relay
  the last answers, exit 0. SIGHUP goes to gunicorn (new workers, as with plain gunicorn).
- If gunicorn exits, so does the front (with gunicorn's status); if the front dies, even by
  SIGKILL, the kernel sends gunicorn SIGTERM (PR_SET_PDEATHSIG), so no orphan keeps the model loaded.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.settings import Settings
from server.front import Front, FrontLimits

PR_SET_PDEATHSIG = 1
UPSTREAM_BOOT_TIMEOUT_S = 120.0
DRAIN_S = 5.0


def run(host: str, port: int, settings: Settings, gunicorn_config: Path) -> int:
    """Serve until SIGTERM/SIGINT or until gunicorn exits; returns the exit status."""
    _raise_open_files_limit()
    listener = socket.create_server((host.strip("[]"), port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=1024)
    folder = tempfile.mkdtemp(prefix="dfg-serve-")  # mode 0700
    upstream = os.path.join(folder, "gunicorn.sock")
    env = {**os.environ, "DFG_PROXY_HOPS": str(settings.proxy_hops + 1)}  # the front is one more hop
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(gunicorn_config),
                                 "--bind", f"unix:{upstream}", "server:create_app()"],
                                env=env, preexec_fn=_die_with_parent)
    limits = FrontLimits(max_body_bytes=settings.max_upload_bytes, head_timeout_s=settings.client_head_timeout_seconds,
                         body_timeout_s=settings.client_body_timeout_seconds, proxy_hops=settings.proxy_hops,
                         max_in_flight_per_key=settings.max_in_flight_per_key)
    try:
        return asyncio.run(_serve(listener, upstream, gunicorn, limits, f"http://{host}:{port}"))
    finally:
        if gunicorn.poll() is None:
            gunicorn.terminate()
            try:
                gunicorn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        shutil.rmtree(folder, ignore_errors=True)


async def _serve(listener: socket.socket, upstream: str, gunicorn: subprocess.Popen, limits: FrontLimits,
                 url: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: gunicorn.send_signal(signal.SIGHUP))
    if not await _upstream_ready(upstream, gunicorn):
        return gunicorn.returncode if gunicorn.returncode is not None else 1
    front = Front(upstream, limits)
    server = await asyncio.start_server(front.handle, sock=listener, limit=1024 * 1024)
    print(f"[front] listening on {url} (gunicorn on unix:{upstream})", file=sys.stderr, flush=True)
    exited = loop.run_in_executor(None, gunicorn.wait)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([exited, stopping], return_when=asyncio.FIRST_COMPLETED)
    server.close()
    if not exited.done():
        gunicorn.send_signal(signal.SIGTERM)  # graceful: in-flight requests finish
        await exited
        deadline = loop.time() + DRAIN_S
        while front.in_flight and loop.time() < deadline:  # the last answers reach their clients
            await asyncio.sleep(0.05)
        return 0
    print(f"[front] gunicorn exited with status {gunicorn.returncode}; stopping", file=sys.stderr, flush=True)
    return gunicorn.returncode or 1


async def _upstream_ready(upstream: str, gunicorn: subprocess.Popen) -> bool:
    """True once gunicorn's socket accepts connections; False if gunicorn exits first."""
    deadline = time.monotonic() + UPSTREAM_BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if gunicorn.poll() is not None:
            return False
        try:
            _, writer = await asyncio.open_unix_connection(upstream)
            writer.close()
            return True
        except OSError:
            await asyncio.sleep(0.1)
    return False


def _die_with_parent() -> None:
    """In gunicorn's process before exec: SIGTERM when the front's process dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux/glibc: the front's own shutdown path still stops gunicorn
        pass


def _raise_open_files_limit() -> None:
    """Each client connection is a file: take the hard limit (often 1024 soft) for the front."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def main() -> None:
    """`python -m server.supervisor --host H --port P --gunicorn-config F`, as `deepfake-guard serve` execs it."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--gunicorn-config", type=Path, required=True)
    arguments = parser.parse_args()
    sys.exit(run(arguments.host, arguments.port, Settings(), arguments.gunicorn_config))


if __name__ == "__main__":
    main()
