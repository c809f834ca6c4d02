"""What the review-workflow tests do in Label Studio as reviewers would: people, answers, task state."""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.integration.conftest import Deployment

CHOICES = ("Real", "Fake", "Can't tell")


def reviewer(deployment: Deployment, name: str) -> int:
    """A Label Studio user (made by the admin), whose id an annotation can carry as `completed_by`."""
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    response = deployment.ls_client.http.post("/api/users/", json={"email": email, "username": email,
                                                                     "first_name": name})
    response.raise_for_status()
    return response.json()["id"]


def answer(deployment: Deployment, task_id: int, choice: str, by: int) -> int:
    """A submitted annotation with one choice, by reviewer `by`."""
    assert choice in CHOICES
    result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [choice]}}]
    response = deployment.ls_client.http.post(f"/api/tasks/{task_id}/annotations",
                                              json={"result": result, "completed_by": by})
    response.raise_for_status()
    return response.json()["id"]


def raw_task(deployment: Deployment, task_id: int) -> dict:
    """The task as Label Studio's API returns it (overlap, is_labeled, data)."""
    response = deployment.ls_client.http.get(f"/api/tasks/{task_id}")
    response.raise_for_status()
    return response.json()


def task_of(deployment: Deployment, check: dict):
    [task] = deployment.ls_client.find_tasks(deployment.project_id(), f"dfg-{check['image']['sha256']}")
    return task


def check_on_page(deployment: Deployment, data: bytes, page_url: str) -> dict:
    response = deployment.client.post("/api/v1/checks", headers=deployment.auth, data=data, content_type="image/jpeg",
                                      query_string={"page_url": page_url})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def dispute(deployment: Deployment, check: dict, label: str, comment: str | None = None) -> None:
    body = {"label": label, **({"comment": comment} if comment else {})}
    response = deployment.client.post(f"/api/v1/checks/{check['id']}/disputes", headers=deployment.auth, json=body)
    assert response.status_code == 202, response.get_json()


def review_of(deployment: Deployment, check: dict) -> dict:
    return deployment.client.get(f"/api/v1/checks/{check['id']}", headers=deployment.auth).get_json()["review"]
