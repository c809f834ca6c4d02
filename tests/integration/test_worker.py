"""`deepfake-guard worker`: syncs on its interval and stops cleanly on SIGTERM."""
from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from tests.images import distinct_face_jpegs
from tests.integration.services import CLI

pytestmark = pytest.mark.labelstudio


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_worker_syncs_on_its_interval_and_stops_on_sigterm(deployment):
    deployment.project_id()
    images = distinct_face_jpegs(3)
    deployment.dispute(images[0])
    worker = subprocess.Popen([str(CLI), "worker"], env={**deployment.env, "DFG_SYNC_INTERVAL_SECONDS": "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_for(lambda: deployment.pending() == 0, 60), "the first sync did not push the item"
        for data in images[1:]:                     # queued while the worker runs: the next interval takes them
            deployment.dispute(data)
        assert _wait_for(lambda: deployment.pending() == 0, 60), "later items were not pushed"
        assert len(deployment.tasks()) == 3
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    print(output)
    assert worker.returncode == 0
    assert "received SIGTERM" in output and "worker stopped" in output
    # one run may also push items disputed while it ran (its second push, after the pull)
    pushed = [int(count) for count in re.findall(r"sync: pushed (\d+), updated \d+, failed 0", output)]
    assert sum(pushed) == 3 and pushed[0] >= 1, output


def test_worker_without_label_studio_says_so(deployment):
    env = {key: value for key, value in deployment.env.items() if not key.startswith("DFG_LABEL_STUDIO")}
    result = subprocess.run([str(CLI), "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Label Studio is not configured" in result.stderr
    result = subprocess.run([str(CLI), "sync"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not configured" in result.stderr and "stay queued" in result.stderr


def test_a_wrong_api_key_is_named_as_the_problem(deployment):
    env = {**deployment.env, "DFG_LABEL_STUDIO_API_KEY": "not-the-token-0123456789"}
    for args in (("sync",), ("labelstudio", "setup")):
        result = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "401" in result.stderr and "DFG_LABEL_STUDIO_API_KEY" in result.stderr
        assert "Traceback" not in result.stderr
