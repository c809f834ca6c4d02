"""Real Deepfake Guard servers for the browser tests: `deepfake-guard serve` (gunicorn) on a free port."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.servers import free_port

READY_TIMEOUT_S = 90


@dataclass
class RunningServer:
    url: str
    api_key: str
    process: subprocess.Popen
    log_path: Path
    instance_dir: Path

    def get_check(self, check_id: str) -> dict:
        response = requests.get(f"{self.url}/api/v1/checks/{check_id}",
                                headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to every process of the server (front, gunicorn master, workers): a host that dies."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(folder: Path, api_key: str, env_extra: dict | None = None, **settings: str) -> RunningServer:
    """Start `deepfake-guard serve` with its instance in `folder`; extra DFG_* settings by name.

    Args:
        folder: an empty folder for the instance (database, kept images) and the log.
        api_key: the one key the server accepts.
        env_extra: more environment variables as they are (e.g. AWS_ACCESS_KEY_ID).
        settings: more settings, e.g. extension_origins="chrome-extension://…", model_dir="…".

    The server runs in a session of its own: `kill()` ends its front, gunicorn and workers at once, as a
    host that dies would.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, DFG_API_KEYS=api_key, DFG_INSTANCE_DIR=str(folder / "instance"),
               DFG_WORKERS="1", DFG_THREADS="4")
    env.update({f"DFG_{name.upper()}": str(value) for name, value in settings.items()})
    env.update(env_extra or {})
    log_path = folder / "server.log"
    command = [str(Path(sys.executable).with_name("deepfake-guard")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = RunningServer(f"http://127.0.0.1:{port}", api_key, process, log_path, folder / "instance")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting a worker
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"the server was not ready after {READY_TIMEOUT_S} s:\n{server.log_tail()}")
