"""Real services for integration tests: Label Studio (scripts/labelstudio.sh) and our server (gunicorn)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "labelstudio.sh"
CLI = Path(sys.executable).with_name("deepfake-guard")
LS_TOKEN = "dfgtesttoken0123456789abcdef0123456789ab"


@dataclass
class LabelStudio:
    """One Label Studio server for the test session, in its own LS_HOME, on a free port."""

    home: Path
    venv: Path
    port: int = field(default_factory=free_port)
    started_once: bool = False
    timings: dict[str, list[float]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return LS_TOKEN

    def _script(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "LS_HOME": str(self.home), "LS_VENV": str(self.venv), "LS_PORT": str(self.port),
               "LS_TOKEN": LS_TOKEN}
        result = subprocess.run(["bash", str(SCRIPT), *arguments], env=env, capture_output=True, text=True,
                                timeout=300, stdin=subprocess.DEVNULL)
        command = " ".join(arguments)
        if check and result.returncode != 0:
            raise RuntimeError(f"scripts/labelstudio.sh {command} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def start(self, wipe: bool = False) -> float:
        """Start (the script keeps the data folder unless `wipe`); returns the seconds until the API answered."""
        started = time.monotonic()
        self._script("start", *(("--wipe", "--yes") if wipe else ()))
        seconds = time.monotonic() - started
        self.timings.setdefault("start" if wipe or not self.started_once else "restart", []).append(seconds)
        self.started_once = True
        return seconds

    def stop(self) -> None:
        self._script("stop", check=False)

    def is_up(self) -> bool:
        try:
            return httpx.get(self.url + "/api/current-user/whoami", timeout=3,
                             headers={"Authorization": f"Token {LS_TOKEN}"}).status_code == 200
        except httpx.HTTPError:
            return False

    def ensure_running(self) -> None:
        """A failed fault test may leave it stopped: later tests get it back with its data."""
        if not self.is_up():
            self.start()

    def kill9(self) -> None:
        """SIGKILL the whole server (it runs in its own session; the script's pid is the group leader)."""
        pid = int((self.home / "labelstudio.pid").read_text().strip())
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


class Server:
    """`deepfake-guard serve` (gunicorn) in its own process group, so kill -9 takes all its workers."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.env, self.log_path = env, log_path
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> Server:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([str(CLI), "serve", "--port", str(self.port)], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}); log:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill9()
        raise RuntimeError(f"server not ready after {timeout} s; log:\n{self.log_path.read_text()[-3000:]}")

    def kill9(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `deepfake-guard ARGS` in a subprocess; the output is echoed for the test log."""
    result = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=timeout)
    print(f"$ deepfake-guard {' '.join(args)}  → {result.returncode}\n{result.stdout}{result.stderr[-2000:]}")
    return result


def start_cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
