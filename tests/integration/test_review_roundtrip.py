"""Dispute → sync → Label Studio task (image, data, prediction) → reviewer's annotation → label back."""
from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from feedback.labelstudio import WEBHOOK_SECRET_HEADER
from tests.images import astronaut, jpeg
from tests.integration.services import run_cli

pytestmark = pytest.mark.labelstudio


def _choice(label: str) -> dict:
    return {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}


def _review(server, auth, check_id: str, want: str | None = None, timeout: float = 5.0) -> dict:
    """The check's review; waits briefly for `want` (the webhook is handled inside the reviewer's save)."""
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(f"{server.url}/api/v1/checks/{check_id}", headers=auth).json()
        if want is None or body["review"]["status"] == want or time.monotonic() > deadline:
            return body


def test_dispute_reaches_label_studio_and_the_label_comes_back(deployment):
    server = deployment.server().start()
    try:
        env = {**deployment.env, "DFG_PUBLIC_URL": server.url}
        setup = run_cli(env, "labelstudio", "setup")
        assert setup.returncode == 0 and "webhook" in setup.stdout and server.url in setup.stdout

        data = jpeg(astronaut())
        check = httpx.post(f"{server.url}/api/v1/checks", headers={**deployment.auth, "Content-Type": "image/jpeg"},
                           content=data).json()
        dispute = httpx.post(f"{server.url}/api/v1/checks/{check['id']}/disputes", headers=deployment.auth,
                             json={"label": "real", "comment": "my own photo"})
        assert dispute.status_code == 202
        assert _review(server, deployment.auth, check["id"])["review"]["status"] == "queued"

        synced = run_cli(env, "sync")
        assert synced.returncode == 0 and "pushed 1," in synced.stdout and "failed 0" in synced.stdout
        assert _review(server, deployment.auth, check["id"])["review"]["status"] == "in_review"

        # The task: one per ext_id, the exact bytes, our data, the prediction with its model version.
        project_id = deployment.project_id()
        [task] = deployment.ls_client.find_tasks(project_id, f"dfg-{check['image']['sha256']}")
        downloaded = deployment.ls_client.download_image(task.data["image"])
        assert hashlib.sha256(downloaded).hexdigest() == check["image"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert task.data["check_id"] == check["id"] and task.data["reason"] == "disputed"
        assert task.data["user_label"] == "real" and task.data["user_comment"] == "my own photo"
        assert task.data["model_version"] == check["model_version"]
        [predicted] = [p.model_dump() for p in deployment.ls_client.sdk.predictions.list(task=task.id)]
        assert predicted["model_version"] == check["model_version"]
        assert predicted["score"] == pytest.approx(check["fake_probability"], abs=1e-4)   # the header's "fake score"
        assert not [r for r in predicted["result"] if r["type"] == "choices"]          # no choice pre-ticked
        boxes = [r for r in predicted["result"] if r["type"] == "rectanglelabels"]
        assert len(boxes) == len(check["faces"]) == 1
        assert boxes[0]["score"] == pytest.approx(check["faces"][0]["fake_probability"], abs=1e-4)
        x, y, w, h = check["faces"][0]["box"]
        assert boxes[0]["value"]["x"] == pytest.approx(100 * x / check["image"]["width"])
        assert boxes[0]["value"]["height"] == pytest.approx(100 * h / check["image"]["height"])

        # A reviewer labels it: the webhook brings the label at once.
        annotation = deployment.ls_client.sdk.annotations.create(id=task.id, result=[_choice("Fake")])
        shown = _review(server, deployment.auth, check["id"], want="relabeled")
        assert shown["review"]["status"] == "relabeled" and shown["review"]["label"] == "fake"
        assert shown["review"]["reviewers"] == 1 and shown["dispute"]["status"] == "relabeled"

        # The reviewer changes their mind while our server is down: the webhook is lost, the pull brings it.
        server.stop()
        deployment.ls_client.sdk.annotations.update(id=annotation.id, result=[_choice("Real")])
        server.start()
        assert _review(server, deployment.auth, check["id"])["review"]["label"] == "fake"  # still the old one
        pulled = run_cli(env, "sync")
        assert pulled.returncode == 0 and "1 pulled now" in pulled.stdout
        assert _review(server, deployment.auth, check["id"])["review"]["label"] == "real"

        # The annotation is deleted: the webhook names only its id; the item is back in review.
        deployment.ls_client.sdk.annotations.delete(id=annotation.id)
        shown = _review(server, deployment.auth, check["id"], want="in_review")
        assert shown["review"]["status"] == "in_review" and shown["review"]["label"] is None
    finally:
        server.stop()


def test_pull_resolves_several_reviewers_and_ignores_cant_tell_and_skips(deployment):
    """No webhook here (none registered): the pull alone resolves labels, majority rule."""
    project_id = deployment.project_id()
    checks = [deployment.dispute(jpeg(astronaut(), quality=q)) for q in (80, 81)]
    assert run_cli(deployment.env, "sync").returncode == 0
    votes = {checks[0]["id"]: ["Fake", "Fake", "Real", "Can't tell", None],  # None: a skip
             checks[1]["id"]: ["Fake", "Real", "Can't tell"]}                 # a tie stays unresolved
    for check in checks:
        [task] = deployment.ls_client.find_tasks(project_id, f"dfg-{check['image']['sha256']}")
        for vote in votes[check["id"]]:
            deployment.ls_client.sdk.annotations.create(id=task.id, result=[_choice(vote)] if vote else [],
                                                        was_cancelled=vote is None)
    result = run_cli(deployment.env, "sync")
    assert result.returncode == 0 and "1 pulled now" in result.stdout and "1 closed undecided" in result.stdout
    first, second = (deployment.client.get(f"/api/v1/checks/{c['id']}", headers=deployment.auth).get_json()
                     for c in checks)
    assert first["review"]["label"] == "fake" and first["review"]["reviewers"] == 4
    # a tie and a "Can't tell" are the three answers DFG_REVIEW_MAX_REVIEWS allows: closed without a label
    assert second["review"]["status"] == "undecided" and second["review"]["label"] is None


def test_webhook_registration_carries_the_secret(deployment):
    env = {**deployment.env, "DFG_PUBLIC_URL": "http://127.0.0.1:9"}
    assert run_cli(env, "labelstudio", "setup").returncode == 0
    assert run_cli(env, "labelstudio", "setup").returncode == 0          # idempotent: same project, one hook
    hooks = list(deployment.ls_client.sdk.webhooks.list(project=str(deployment.project_id())))
    assert len(hooks) == 1 and hooks[0].headers[WEBHOOK_SECRET_HEADER] == deployment.env["DFG_LABEL_STUDIO_WEBHOOK_SECRET"]
    matching = [p for p in deployment.ls_client.sdk.projects.list(title=deployment.title) if p.title == deployment.title]
    assert len(matching) == 1
