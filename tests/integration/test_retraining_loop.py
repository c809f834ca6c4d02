"""The whole loop against a real Label Studio and a running server (gunicorn):
disputes → sync → reviewers' annotations (Label Studio API) → pull → retrain → the new champion answers."""
from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from core.registry import Registry
from feedback.dataset import in_holdout
from tests.images import distinct_face_jpegs
from tests.integration.services import run_cli
from tests.models.tiny_data import write_tiny_set
from tests.retraining_loop import CHAMPION, SIZE, build_tiny_champion

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]
HOLDOUT_FRACTION = 0.25


def _choice(label: str) -> dict:
    return {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}


def test_reviewed_disputes_retrain_a_champion_the_running_server_serves(deployment, tmp_path, figures):
    base = write_tiny_set(tmp_path / "base", 24, size=SIZE, seed=0, splits={"Validation": 8, "Test": 16})
    registry = Registry.for_instance(deployment.folder / "instance")
    registry.add(build_tiny_champion(base, tmp_path / "champion"))
    registry.promote(CHAMPION, note="tiny champion for the loop test")
    images = distinct_face_jpegs(12)
    held_out = sum(in_holdout(hashlib.sha256(data).hexdigest(), HOLDOUT_FRACTION) for data in images)
    assert held_out >= 2, "the images' fixed split must leave some held out for the gate"
    env = {**deployment.env, "DFG_BASE_DATA_DIR": str(base), "DFG_RETRAIN_EPOCHS": "6",
           "DFG_RETRAIN_LEARNING_RATE": "1e-3", "DFG_RETRAIN_HOLDOUT_FRACTION": str(HOLDOUT_FRACTION),
           "DFG_RETRAIN_MIN_HOLDOUT": "2"}
    project_id = deployment.project_id()      # the project, as `labelstudio setup` makes it
    server = deployment.server(**env).start()
    try:
        checks = []
        for data in images:   # users say these photos are fake; reviewers will say they are real
            check = httpx.post(f"{server.url}/api/v1/checks", content=data,
                               headers={**deployment.auth, "Content-Type": "image/jpeg"}).json()
            assert check["model_version"] == CHAMPION and check["scope"] == "faces"
            disputed = httpx.post(f"{server.url}/api/v1/checks/{check['id']}/disputes", headers=deployment.auth,
                                  json={"label": "fake"})
            assert disputed.status_code == 202
            checks.append(check)
        pushed = run_cli(env, "sync")
        assert pushed.returncode == 0 and f"pushed {len(images)}," in pushed.stdout

        for check in checks:
            [task] = deployment.ls_client.find_tasks(project_id, f"dfg-{check['image']['sha256']}")
            deployment.ls_client.sdk.annotations.create(id=task.id, result=[_choice("Real")])
        pulled = run_cli(env, "sync")
        assert pulled.returncode == 0 and f"{len(images)} pulled now" in pulled.stdout

        started = time.monotonic()
        retrained = run_cli(env, "retrain", timeout=600)
        seconds = time.monotonic() - started
        assert retrained.returncode == 0, retrained.stderr
        assert "retraining promoted" in retrained.stdout, retrained.stdout
        [decision] = registry.retraining()
        new = decision["challenger"]
        assert registry.champion() == new and decision["data"]["feedback"]["labels"] == len(images)
        figures(f"retraining loop: {len(images)} labels ({decision['data']['feedback']['train_images']} train, "
                f"{decision['data']['feedback']['holdout_images']} held out), `retrain` {seconds:.1f} s, promoted {new}")

        # The running server answers with the new champion; earlier checks keep their model_version.
        fresh = httpx.post(f"{server.url}/api/v1/checks", content=distinct_face_jpegs(13)[-1],
                           headers={**deployment.auth, "Content-Type": "image/jpeg"}).json()
        assert fresh["model_version"] == new
        shown = [httpx.get(f"{server.url}/api/v1/checks/{c['id']}", headers=deployment.auth).json() for c in checks]
        assert all(body["model_version"] == CHAMPION and body["review"]["label"] == "real" for body in shown)
        marked = [body["review"]["used_in_model"] for body in shown]
        assert marked.count(new) == len(images) - held_out and marked.count(None) == held_out

        listed = run_cli(env, "models", "list")
        assert listed.returncode == 0 and "promoted" in listed.stdout and new in listed.stdout
    finally:
        server.stop()
