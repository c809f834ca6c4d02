"""Two retrainings at once (two processes, as two workers would be): one trains, the other skips."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedback.retrain import new_labels
from feedback.sync import open_state
from tests.retraining_loop import CHAMPION, feedback_images

pytestmark = pytest.mark.slow
CLI = Path(sys.executable).with_name("deepfake-guard")


def test_two_retrain_processes_at_once_run_one_retraining(loop, tmp_path):
    checks = [loop.reviewed(data, truth) for data, truth in feedback_images(tmp_path / "feedback", 10, seed=1)]
    settings = loop.settings
    env = {**os.environ, "DFG_INSTANCE_DIR": str(settings.instance_dir), "DFG_BASE_DATA_DIR": str(settings.base_data_dir),
           "DFG_RETRAIN_EPOCHS": "2", "DFG_RETRAIN_LEARNING_RATE": "1e-3", "DFG_RETRAIN_MIN_HOLDOUT": "1"}
    runs = [subprocess.Popen([str(CLI), "retrain", "--dry-run"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    results = [(run.wait(timeout=300), run.stdout.read()) for run in runs]
    for code, output in results:
        print(f"exit {code}:\n{output}")
    assert sorted(code for code, _ in results) == [0, 3]
    skipped = next(output for code, output in results if code == 3)
    assert "another retraining holds the lock" in skipped

    decisions = loop.decisions()
    assert sorted(record["decision"] for record in decisions) == ["dry-run", "skipped"]
    dry = next(record for record in decisions if record["decision"] == "dry-run")
    assert dry["challenger"] is None and dry["metrics"]["challenger"]["base_holdout"]["n"] == 32
    # A dry run neither registers, promotes nor marks labels, and the labels still count as new.
    assert loop.registry.version_names() == [CHAMPION] and loop.registry.champion() == CHAMPION
    assert all(loop.read(check["id"])["review"]["used_in_model"] is None for check in checks)
    store, _ = open_state(settings)
    assert new_labels(store) == len(checks)
