"""A small client for what Deepfake Guard needs from Label Studio (1.23, label-studio-sdk 2.x).

The SDK does everything it covers; plain httpx only where it cannot: the multipart upload and the
image download (`files.download` returns None). The SDK's own retries are off (`max_retries=0`):
it re-sends POSTs after a lost response, which duplicates tasks and predictions. Callers retry
whole idempotent steps instead (feedback/sync.py).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from core.outcomes import WEBHOOK_SECRET_HEADER
from feedback.tasks import LABEL_CONFIG

WEBHOOK_PATH = "/api/v1/labelstudio/webhook"
WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
PROJECT_DESCRIPTION = "Deepfake Guard: images users disputed and checks the model was unsure about."
# Uploaded images live in a project of their own: Label Studio takes a file upload only into a project
# whose config has one data key, and the review config has three ($image, $page_link, $heatmaps).
IMAGE_STORE_SUFFIX = " · image store"
IMAGE_STORE_CONFIG = '<View><Image name="image" value="$image"/></View>'
IMAGE_STORE_DESCRIPTION = ("Holds the images of the Deepfake Guard review tasks (it has no tasks itself). "
                           "Do not delete it: the tasks show their images from here.")
REVIEW_VIEW = "Review"
# The data manager tab `labelstudio setup` makes: internal columns hidden, the score a number.
HIDDEN_COLUMNS = ["tasks:inner_id", "tasks:id", "tasks:annotations_ids", "tasks:predictions_model_versions",
                  "tasks:predictions_results", "tasks:annotations_results", "tasks:file_upload", "tasks:storage_filename",
                  "tasks:created_at",
                  "tasks:updated_at", "tasks:updated_by", "tasks:avg_lead_time", "tasks:draft_exists",
                  "tasks:data.ext_id", "tasks:data.check_id", "tasks:data.face_scores", "tasks:data.page_link",
                  "tasks:data.faces_text", "tasks:data.image", "tasks:data.source_url", "tasks:data.heatmaps"]
NUMBER_COLUMNS = {"tasks:data.fake_probability": "Number", "tasks:data.threshold": "Number"}


def image_store_title(title: str) -> str:
    return title[:50 - len(IMAGE_STORE_SUFFIX)] + IMAGE_STORE_SUFFIX


def is_transient(error: BaseException) -> bool:
    """Worth retrying: Label Studio unreachable, a lost response, a timeout, 5xx or 429."""
    if isinstance(error, httpx.TransportError):
        return True
    status = getattr(error, "status_code", None)
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
    return isinstance(status, int) and (status >= 500 or status == 429)


def describe(error: BaseException) -> str:
    """A one-line error text for `last_error` and logs (ApiError's own text dumps all headers)."""
    if isinstance(error, ApiError):
        body = error.body if isinstance(error.body, str) else json.dumps(error.body, default=str)
        return f"Label Studio answered {error.status_code}: {body[:500]}"
    if isinstance(error, httpx.HTTPStatusError):
        return f"Label Studio answered {error.response.status_code}: {error.response.text[:500]}"
    return f"{type(error).__name__}: {error}"[:1000]


def _as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else value.model_dump()  # type: ignore[attr-defined]


def _as_datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass
class Task:
    """A Label Studio task as the sync sees it."""

    id: int
    data: dict
    annotations: list[dict] = field(default_factory=list)
    prediction_versions: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    overlap: int = 1                     # answers by distinct reviewers Label Studio wants before it is done

    @classmethod
    def from_sdk(cls, task: object) -> Task:
        predictions = [_as_dict(p) for p in (getattr(task, "predictions", None) or [])]
        return cls(id=task.id, data=dict(task.data or {}),  # type: ignore[attr-defined]
                   annotations=[_as_dict(a) for a in (getattr(task, "annotations", None) or [])],
                   prediction_versions=[str(p.get("model_version") or "") for p in predictions],
                   updated_at=_as_datetime(getattr(task, "updated_at", None)),
                   overlap=int(getattr(task, "overlap", None) or 1))

    @property
    def reviewers(self) -> int:
        """Distinct people with a submitted (not skipped) annotation: what Label Studio counts for overlap."""
        return len({str(a.get("completed_by")) for a in self.annotations if not a.get("was_cancelled")})

    @property
    def ext_id(self) -> str | None:
        value = self.data.get("ext_id")
        return value if isinstance(value, str) else None


class _SdkAuth(httpx.Auth):
    """Send the SDK's own Authorization header (legacy `Token` or a refreshed JWT `Bearer`)."""

    def __init__(self, sdk: LabelStudio) -> None:
        self._sdk = sdk

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = self._sdk._client_wrapper.get_headers()["Authorization"]
        yield request


class LabelStudioClient:
    """Project bootstrap, webhook, task push and pull against one Label Studio server."""

    def __init__(self, url: str, api_key: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.sdk = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout, max_retries=0)
        self.http = httpx.Client(base_url=self.url, auth=_SdkAuth(self.sdk), timeout=timeout)

    def close(self) -> None:
        self.http.close()

    # Project and webhook ---------------------------------------------------------------------------

    def find_project(self, title: str) -> object | None:
        """The project with exactly this title (the server's filter is a case-insensitive *contains*).

        Titles are not unique in Label Studio: with several, the oldest (lowest id) wins, so every
        process picks the same one.
        """
        matches = [p for p in self.sdk.projects.list(title=title) if p.title == title]
        return min(matches, key=lambda p: p.id) if matches else None

    def ensure_project(self, title: str) -> tuple[object, bool]:
        """Find the project by title or create it with our labeling config. Returns (project, created)."""
        project = self.find_project(title)
        if project is not None:
            return project, False
        return self.sdk.projects.create(title=title, label_config=LABEL_CONFIG, description=PROJECT_DESCRIPTION), True

    def ensure_image_store(self, title: str) -> object:
        """The project that holds the review tasks' uploaded images (found by title, else created)."""
        store_title = image_store_title(title)
        project = self.find_project(store_title)
        if project is not None:
            return project
        return self.sdk.projects.create(title=store_title, label_config=IMAGE_STORE_CONFIG,
                                        description=IMAGE_STORE_DESCRIPTION)

    def update_label_config(self, project_id: int) -> None:
        self.sdk.projects.update(project_id, label_config=LABEL_CONFIG)

    def ensure_review_view(self, project_id: int) -> object:
        """A data manager tab with the columns reviewers use first (internal ids hidden) and the score as a number."""
        data = {"title": REVIEW_VIEW, "hiddenColumns": {"explore": HIDDEN_COLUMNS, "labeling": HIDDEN_COLUMNS},
                "columnsDisplayType": NUMBER_COLUMNS, "ordering": ["-tasks:data.fake_probability"]}
        response = self.http.get("/api/dm/views", params={"project": project_id})
        response.raise_for_status()
        for view in response.json():
            if (view.get("data") or {}).get("title") == REVIEW_VIEW:
                updated = self.http.patch(f"/api/dm/views/{view['id']}", json={"project": project_id, "data": data})
                updated.raise_for_status()
                return updated.json()
        created = self.http.post("/api/dm/views", json={"project": project_id, "data": data})
        created.raise_for_status()
        return created.json()

    def project_url(self, project_id: int) -> str:
        return f"{self.url}/projects/{project_id}/data"

    def set_project_model_version(self, project_id: int, model_version: str) -> None:
        """The labeling UI pre-fills the predictions of the project's model_version."""
        self.sdk.projects.update(project_id, model_version=model_version, show_collab_predictions=True)

    def ensure_webhook(self, project_id: int, url: str, secret: str) -> object:
        """One webhook per URL on the project, sending our shared secret header (idempotent)."""
        options = dict(url=url, headers={WEBHOOK_SECRET_HEADER: secret}, is_active=True, send_payload=True,
                       send_for_all_actions=False, actions=WEBHOOK_ACTIONS)
        for hook in self.sdk.webhooks.list(project=str(project_id)):
            if hook.url == url:
                return self.sdk.webhooks.update(hook.id, **options)
        return self.sdk.webhooks.create(project=project_id, **options)

    # Push ------------------------------------------------------------------------------------------

    def upload_image(self, project_id: int, data: bytes, filename: str, content_type: str) -> str:
        """Store the bytes in Label Studio without making a task; returns the task `image` URL."""
        response = self.http.post(f"/api/projects/{project_id}/import", params={"commit_to_project": "false"},
                                  files={"file": (filename, data, content_type)})
        response.raise_for_status()
        upload_id = response.json()["file_upload_ids"][0]
        info = self.http.get(f"/api/import/file-upload/{upload_id}")
        info.raise_for_status()
        return "/data/" + info.json()["file"]

    def create_task(self, project_id: int, data: Mapping) -> int:
        """Create a task with all its data in one request: a half-made task is never visible."""
        return self.sdk.tasks.create(project=project_id, data=dict(data)).id

    def get_task(self, task_id: int) -> Task | None:
        try:
            return Task.from_sdk(self.sdk.tasks.get(str(task_id)))
        except ApiError as error:
            if error.status_code == 404:
                return None
            raise

    def update_task(self, task: Task, fields: Mapping, overlap: int | None = None) -> None:
        """Merge `fields` into the task data; with `overlap`, also ask for that many reviewers.

        PATCH replaces task data entirely (a partial one drops the image): always send the merge.
        Label Studio does not re-derive `is_labeled` from a changed overlap, so it is sent along.
        """
        body: dict = {"data": {**task.data, **fields}}
        if overlap is not None:
            body.update(overlap=overlap, is_labeled=task.reviewers >= overlap)
        response = self.http.patch(f"/api/tasks/{task.id}", json=body)
        response.raise_for_status()

    def add_prediction(self, task_id: int, result: list[dict], score: float, model_version: str) -> None:
        self.sdk.predictions.create(task=task_id, result=result, score=score, model_version=model_version)

    # Pull ------------------------------------------------------------------------------------------

    def iter_tasks(self, project_id: int, filters: list[dict] | None = None, page_size: int = 100,
                   task_only: bool = False) -> Iterator[Task]:
        """All tasks (data, annotations, predictions; only data with `task_only`) matching Data Manager
        filters, in id order."""
        query: dict = {"ordering": ["tasks:id"]}
        if filters:
            query["filters"] = {"conjunction": "and", "items": filters}
        fields = {"fields": "task_only"} if task_only else {}
        for task in self.sdk.tasks.list(project=project_id, page_size=page_size, query=json.dumps(query), **fields):
            yield Task.from_sdk(task)

    def ext_ids(self, project_id: int) -> set[str]:
        """The ext_id of every task in the project (one light listing)."""
        return {task.ext_id for task in self.iter_tasks(project_id, page_size=1000, task_only=True) if task.ext_id}

    def find_tasks(self, project_id: int, ext_id: str) -> list[Task]:
        """Every task whose data carries this ext_id (Label Studio has no unique key: may be several)."""
        equal = {"filter": "filter:tasks:data.ext_id", "operator": "equal", "type": "String", "value": ext_id}
        return [task for task in self.iter_tasks(project_id, [equal]) if task.ext_id == ext_id]

    def tasks_changed_since(self, project_id: int, since: datetime | None) -> Iterator[Task]:
        """Tasks updated after `since` (an annotation created, updated or deleted bumps it); all if None."""
        if since is None:
            return self.iter_tasks(project_id)
        value = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        after = {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": value}
        return self.iter_tasks(project_id, [after])

    def server_time(self) -> datetime:
        """Label Studio's clock (the Date header, whole seconds), so watermarks never mix clocks."""
        response = self.http.get("/api/current-user/whoami")
        response.raise_for_status()
        date = response.headers.get("Date")
        return parsedate_to_datetime(date) if date else datetime.now(UTC) - timedelta(seconds=60)

    def download_image(self, image_url: str) -> bytes:
        """The bytes of an uploaded image, from a task's `image` URL (`/data/upload/...`)."""
        response = self.http.get(image_url)
        response.raise_for_status()
        return response.content
