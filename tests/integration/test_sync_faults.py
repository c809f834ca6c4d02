"""Nothing lost, nothing duplicated: Label Studio down or killed, our server killed, two syncs at once.

The counts are printed (run with -s) for the closing note.
"""
from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from core.store import ReviewItem
from tests.images import distinct_face_jpegs
from tests.integration.services import run_cli, start_cli

pytestmark = pytest.mark.labelstudio


def _items(deployment) -> list[ReviewItem]:
    with deployment.store.session() as session:
        return list(session.scalars(select(ReviewItem).order_by(ReviewItem.id)))


def _assert_exactly_once(deployment, expected: int) -> dict:
    """Every item is sent, as exactly one task carrying its ext_id, with exactly one prediction."""
    tasks = deployment.tasks()
    per_ext_id = Counter(task.ext_id for task in tasks)
    items = _items(deployment)
    by_id = {task.id: task for task in tasks}
    counts = {"items": len(items), "tasks": len(tasks), "duplicates": sum(n - 1 for n in per_ext_id.values()),
              "lost": len({i.ext_id for i in items} - set(per_ext_id)),
              "tasks_without_one_prediction": sum(len(t.prediction_versions) != 1 for t in tasks),
              "push_attempts": sum(i.attempts for i in items)}
    assert counts["items"] == counts["tasks"] == expected, counts
    assert counts["duplicates"] == counts["lost"] == counts["tasks_without_one_prediction"] == 0, counts
    for item in items:
        assert item.push_state == "sent" and not item.data_stale and item.claimed_by is None
        assert by_id[item.ls_task_id].ext_id == item.ext_id
    return counts


def _sync_until_done(deployment, runs: int = 3) -> list[str]:
    summaries = []
    for _ in range(runs):
        result = run_cli(deployment.env, "sync")
        summaries.append(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr.strip())
        if deployment.pending() == 0:
            break
    return summaries


def test_label_studio_down_disputes_queue_then_each_is_delivered_once(deployment, figures):
    deployment.project_id()
    deployment.ls.stop()
    try:
        checks = [deployment.dispute(data) for data in distinct_face_jpegs(5)]   # each answered 202
        shown = deployment.client.get(f"/api/v1/checks/{checks[0]['id']}", headers=deployment.auth).get_json()
        assert shown["review"]["status"] == "queued"
        down = run_cli({**deployment.env, "DFG_SYNC_RETRY_ATTEMPTS": "2"}, "sync")
        assert down.returncode == 1 and "unreachable" in down.stderr
        assert deployment.pending() == 5
    finally:
        deployment.ls.start()
    summaries = _sync_until_done(deployment)
    again = run_cli(deployment.env, "sync")
    assert "pushed 0," in again.stdout
    counts = _assert_exactly_once(deployment, 5)
    figures(f"FAULT LS-down: 5 disputes accepted while down; after start: {summaries}; {counts}")


def test_label_studio_killed_mid_sync_of_50_items_loses_and_duplicates_nothing(deployment, figures):
    project_id = deployment.project_id()
    for data in distinct_face_jpegs(50):
        deployment.dispute(data)
    sync = start_cli(deployment.env, "sync")
    deadline = time.monotonic() + 120
    tasks_at_kill = 0
    while time.monotonic() < deadline and sync.poll() is None:
        tasks_at_kill = sum(1 for _ in deployment.ls_client.iter_tasks(project_id))
        if tasks_at_kill >= 15:
            break
        time.sleep(0.2)
    assert sync.poll() is None, "the sync finished before Label Studio could be killed"
    deployment.ls.kill9()
    restart_seconds = deployment.ls.start()
    output, _ = sync.communicate(timeout=300)
    print(output)
    first = output.strip().splitlines()[-1]
    later = _sync_until_done(deployment) if deployment.pending() else []
    counts = _assert_exactly_once(deployment, 50)
    figures(f"FAULT LS-kill-9: killed with {tasks_at_kill} tasks made, restarted in {restart_seconds:.1f} s; "
          f"interrupted sync exit {sync.returncode}: {first!r}; later runs: {later}; {counts}")


def test_server_killed_right_after_202_keeps_the_dispute(deployment, figures):
    server = deployment.server().start()
    data = distinct_face_jpegs(1)[0]
    check = httpx.post(f"{server.url}/api/v1/checks", content=data,
                       headers={**deployment.auth, "Content-Type": "image/jpeg"}).json()
    response = httpx.post(f"{server.url}/api/v1/checks/{check['id']}/disputes", headers=deployment.auth,
                          json={"label": "fake", "comment": "a GAN face"})
    assert response.status_code == 202
    server.kill9()
    server.start()
    try:
        shown = httpx.get(f"{server.url}/api/v1/checks/{check['id']}", headers=deployment.auth).json()
        assert shown["dispute"]["id"] == response.json()["id"] and shown["dispute"]["label"] == "fake"
        assert shown["review"]["status"] == "queued"
        assert deployment.images.read(check["image"]["sha256"]) == data
    finally:
        server.stop()
    deployment.project_id()
    _sync_until_done(deployment)
    counts = _assert_exactly_once(deployment, 1)
    figures(f"FAULT server-kill-9 after 202: dispute present after restart, then delivered; {counts}")


def test_two_concurrent_syncs_never_duplicate_a_task(deployment, figures):
    deployment.project_id()
    for data in distinct_face_jpegs(30):
        deployment.dispute(data)
    env = {**deployment.env, "DFG_SYNC_BATCH_SIZE": "3"}   # small batches: both processes keep claiming
    first, second = start_cli(env, "sync"), start_cli(env, "sync")
    outputs = [process.communicate(timeout=300)[0] for process in (first, second)]
    summaries = [output.strip().splitlines()[-1] for output in outputs]
    assert first.returncode == second.returncode == 0, "\n\n".join(output[-4000:] for output in outputs)
    pushed = [output.count("  pushed ") for output in outputs]
    counts = _assert_exactly_once(deployment, 30)
    assert sum(pushed) == 30
    figures(f"FAULT two concurrent syncs: pushed {pushed[0]} + {pushed[1]}; {summaries}; {counts}")
