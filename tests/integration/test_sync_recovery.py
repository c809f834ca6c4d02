"""The sync's recovery paths: a task made before a crash, stale task data, reused task ids, duplicates."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.settings import Settings
from core.store import ReviewItem
from feedback.outbox import FieldContext, current_fields
from tests.images import astronaut, coffee, jpeg
from tests.integration.services import run_cli

pytestmark = pytest.mark.labelstudio


def _item(deployment, sha256: str) -> ReviewItem:
    with deployment.store.session() as session:
        return session.scalars(select(ReviewItem).where(ReviewItem.image_sha256 == sha256)).one()


def _choice(label: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}]


def test_task_created_before_a_crash_is_found_not_duplicated(deployment):
    """The sync died after Label Studio created the task but before we marked the row sent."""
    project_id = deployment.project_id()
    check = deployment.dispute(jpeg(astronaut()))
    ext_id = f"dfg-{check['image']['sha256']}"
    image_store = deployment.ls_client.ensure_image_store(deployment.title)
    url = deployment.ls_client.upload_image(image_store.id, jpeg(astronaut()), f"{ext_id}.jpg", "image/jpeg")
    context = FieldContext.for_settings(Settings(instance_dir=deployment.folder / "instance"))
    with deployment.store.session() as session:   # the task exactly as the lost push would have made it
        fields = current_fields(session, _item(deployment, check["image"]["sha256"]), context)
    made = deployment.ls_client.create_task(project_id, {"image": url, **fields, "heatmaps": ""})
    result = run_cli(deployment.env, "sync")
    assert result.returncode == 0 and "pushed 0," in result.stdout and "1 already in Label Studio" in result.stdout
    [task] = deployment.tasks()
    assert task.id == made and task.data["check_id"] == check["id"]   # our data merged into it
    assert task.data["image"] == url and task.prediction_versions == [check["model_version"]]
    assert _item(deployment, check["image"]["sha256"]).ls_task_id == made


def test_uncertain_item_disputed_after_push_gets_its_data_resent(uncertain_deployment):
    deployment = uncertain_deployment
    deployment.project_id()
    check = deployment.uncertain(jpeg(coffee()))
    assert run_cli(deployment.env, "sync").returncode == 0
    [before] = deployment.tasks()
    assert before.data["reason"] == "uncertain" and before.data["user_label"] == ""
    response = deployment.client.post(f"/api/v1/checks/{check['id']}/disputes", headers=deployment.auth,
                                      json={"label": "fake", "comment": "obviously edited"})
    assert response.status_code == 202
    assert _item(deployment, check["image"]["sha256"]).data_stale
    result = run_cli(deployment.env, "sync")
    assert "updated 1" in result.stdout and "pushed 0," in result.stdout
    [after] = deployment.tasks()
    assert after.id == before.id and after.data["image"] == before.data["image"]   # merged, image kept
    assert after.prediction_versions == before.prediction_versions == [check["model_version"]]  # not added twice
    assert after.data["reason"] == "disputed" and after.data["user_label"] == "fake"
    assert after.data["user_comment"] == "obviously edited"
    assert not _item(deployment, check["image"]["sha256"]).data_stale


def test_a_reused_task_id_is_not_trusted(deployment):
    """Label Studio reuses task ids after deletes: a stored id whose task has another ext_id is ignored."""
    deployment.project_id()
    first, second = (deployment.dispute(jpeg(astronaut(), quality=q)) for q in (70, 71))
    assert run_cli(deployment.env, "sync").returncode == 0
    other = _item(deployment, second["image"]["sha256"])
    with deployment.store.session() as session:
        item = session.scalars(select(ReviewItem).where(ReviewItem.image_sha256 == first["image"]["sha256"])).one()
        real_task, item.ls_task_id, item.data_stale = item.ls_task_id, other.ls_task_id, True
    assert run_cli(deployment.env, "sync").returncode == 0
    tasks = {task.id: task for task in deployment.tasks()}
    assert len(tasks) == 2 and tasks[other.ls_task_id].data["check_id"] == second["id"]   # not overwritten
    assert _item(deployment, first["image"]["sha256"]).ls_task_id == real_task


def test_duplicate_tasks_for_one_ext_id_are_merged_on_pull(deployment):
    project_id = deployment.project_id()
    check = deployment.dispute(jpeg(astronaut()))
    assert run_cli(deployment.env, "sync").returncode == 0
    [task] = deployment.tasks()
    twin = deployment.ls_client.create_task(project_id, dict(task.data))   # e.g. made by hand, or by an old bug
    deployment.ls_client.sdk.annotations.create(id=task.id, result=_choice("Fake"))
    deployment.ls_client.sdk.annotations.create(id=twin, result=_choice("Fake"))
    deployment.ls_client.sdk.annotations.create(id=twin, result=_choice("Real"))
    result = run_cli(deployment.env, "sync", "--full")
    assert "ext_ids with duplicate tasks (merged)" in result.stdout and "1 pulled now" in result.stdout
    shown = deployment.client.get(f"/api/v1/checks/{check['id']}", headers=deployment.auth).get_json()
    assert shown["review"]["label"] == "fake" and shown["review"]["reviewers"] == 3
