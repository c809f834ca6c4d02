"""The real served processes: `deepfake-guard serve` with 2 gunicorn workers.

What a worker has loaded is read from its memory map (/proc/PID/maps), so no debug endpoint is needed.
"""
from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.images import astronaut, jpeg
from tests.servers import start_ours, workers


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_ours("two workers", tmp_path_factory.mktemp("served"), workers=2, threads=2, runtime_threads=1)
    yield server
    server.stop()


def _post(server, data: bytes) -> None:
    request = urllib.request.Request(server.url + "/api/v1/checks", data=data, headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _serving_maps(pid: int, timeout: float = 60.0) -> str:
    """The worker's memory map once it has built the app (it loads both runtimes then).

    The server counts as up when one worker answers; the other may still be importing (seen in CI
    on a fresh machine), so wait for it rather than read a half-booted worker.
    """
    deadline = time.monotonic() + timeout
    while True:
        maps = _maps(pid)
        if ("onnxruntime" in maps and "ai_edge_litert" in maps) or time.monotonic() > deadline:
            return maps
        time.sleep(0.2)


def test_workers_load_neither_tensorflow_nor_the_label_studio_sdk(served):
    _post(served, jpeg(astronaut()))  # a check has run: everything it needs is loaded
    pids = workers(served.process.pid)
    assert len(pids) == 2
    for pid in pids:
        maps = _serving_maps(pid)
        assert "onnxruntime" in maps and "ai_edge_litert" in maps  # the map shows what is loaded …
        assert "/tensorflow/" not in maps and "libtensorflow" not in maps  # … and TensorFlow is not
        assert "/pandas/" not in maps  # pulled in by label_studio_sdk: 70 MB per worker


def test_one_scrape_counts_the_checks_of_both_workers(served):
    metrics_dir = Path(served.log_path.parent / "instance" / "prometheus")
    sent, lock = 0, threading.Lock()

    def send(count: int) -> None:
        nonlocal sent
        for number in range(count):
            _post(served, jpeg(astronaut(), quality=60 + number % 40))
            with lock:
                sent += 1

    def pids_with_checks() -> set[str]:
        return {path.stem.split("_")[-1] for path in metrics_dir.glob("counter_*.db")}

    before = _lookups(served)
    # New connections from 4 threads at once: the kernel hands them to both workers.
    while len(pids_with_checks()) < 2 and sent < 200:
        threads = [threading.Thread(target=send, args=(5,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(pids_with_checks()) == 2, "both workers should have answered checks"
    assert _lookups(served) - before == sent


def _lookups(server) -> float:
    with urllib.request.urlopen(server.url + "/metrics", timeout=30) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == "dfg_result_cache_lookups" for sample in family.samples
               if sample.name == "dfg_result_cache_lookups_total")


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_serve_refuses_to_start_with_a_missing_or_corrupt_model(tmp_path, damage):
    import os
    import shutil
    import subprocess
    import sys

    import models

    folder = tmp_path / "model"
    if damage == "corrupt":
        shutil.copytree(models.DEFAULT_MODEL_DIR, folder)
        onnx = folder / "model.onnx"
        onnx.write_bytes(onnx.read_bytes()[:1000])  # a truncated copy
    env = {**os.environ, "DFG_INSTANCE_DIR": str(tmp_path / "instance"), "DFG_MODEL_DIR": str(folder)}
    command = Path(sys.executable).with_name("deepfake-guard")  # the installed console script
    result = subprocess.run([str(command), "serve", "--port", "1"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "cannot start: the model to serve (DFG_MODEL_DIR) cannot be loaded" in result.stderr
    assert str(folder) in result.stderr and "Booting worker" not in result.stderr


def test_serve_refuses_to_start_when_the_champion_metadata_is_not_json(tmp_path):
    import os
    import subprocess
    import sys

    from core.registry import Registry
    from tests.model_versions import register_copy

    registry = Registry.for_instance(tmp_path / "instance")
    register_copy(registry, "good", tmp_path)
    registry.promote("good")
    (registry.folder("good") / "metadata.json").write_text('{"version": "good", ')   # cut short
    env = {**os.environ, "DFG_INSTANCE_DIR": str(tmp_path / "instance")}
    env.pop("DFG_MODEL_DIR", None)
    command = Path(sys.executable).with_name("deepfake-guard")
    result = subprocess.run([str(command), "serve", "--port", "1"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "cannot start: the registry's champion cannot be served" in result.stderr
    assert "metadata.json: not valid JSON" in result.stderr and "models rollback" in result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr
