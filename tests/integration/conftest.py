"""Fixtures for tests against a real Label Studio, started once per session by scripts/labelstudio.sh.

Label Studio must be installed (scripts/test.sh does it): without it these tests fail, never skip.
Each test gets its own project (a unique title) and its own instance folder and database.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from core.settings import Settings
from feedback.labelstudio import LabelStudioClient
from feedback.outbox import pending_count
from feedback.sync import open_state
from server import create_app
from tests.conftest import API_KEY
from tests.integration.services import REPO, LabelStudio, Server

WEBHOOK_SECRET = "test-webhook-secret-0123456789"
# Figures for the closing note (start times, fault-test counts), shown in the summary even without -s.
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if SUMMARY:
        terminalreporter.section("Label Studio integration figures")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture
def figures():
    """Call with a line to show it in the terminal summary."""
    def add(line: str) -> None:
        print(line)
        SUMMARY.append(line)
    return add


@pytest.fixture(scope="session")
def labelstudio(tmp_path_factory):
    venv = Path(os.environ.get("LS_VENV") or REPO / ".labelstudio" / "venv")
    if not (venv / "bin" / "label-studio").exists():
        pytest.fail(f"Label Studio is not installed (no {venv}/bin/label-studio). Run scripts/test.sh, which "
                    "installs it, or scripts/labelstudio.sh install; set LS_VENV to use another venv.")
    server = LabelStudio(home=tmp_path_factory.mktemp("labelstudio"), venv=venv)
    seconds = server.start()
    SUMMARY.append(f"Label Studio {server.url}: first start (fresh data dir) {seconds:.1f} s")
    yield server
    server.stop()
    SUMMARY.append("Label Studio start/restart times (s): "
                   + str({kind: [round(v, 1) for v in values] for kind, values in server.timings.items()}))


@pytest.fixture
def ls(labelstudio) -> LabelStudio:
    labelstudio.ensure_running()
    return labelstudio


# The shipped model is sure the test faces are real (scores 0.01-0.03), so under the default rule one reviewer's
# Fake would wait for a second (core/resolution.py's ReviewRule). These tests are about the rest of the
# workflow: one answer labels; the test of that rule sets it itself.
LABEL_ALONE = {"DFG_REVIEW_CONFIDENT_REAL": "0.000001", "DFG_REVIEW_CONFIDENT_FAKE": "0.999999"}


class Deployment:
    """One Deepfake Guard instance (folder, database, settings) wired to a Label Studio project."""

    def __init__(self, ls: LabelStudio, folder: Path, title: str, model_dir: Path | None = None) -> None:
        self.ls, self.folder, self.title = ls, folder, title
        self.env = {**os.environ, "DFG_INSTANCE_DIR": str(folder / "instance"), "DFG_API_KEYS": API_KEY,
                    "DFG_LABEL_STUDIO_URL": ls.url, "DFG_LABEL_STUDIO_API_KEY": ls.token,
                    "DFG_LABEL_STUDIO_PROJECT": title, "DFG_LABEL_STUDIO_WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "DFG_WORKERS": "1", "DFG_SYNC_RETRY_ATTEMPTS": "5", **LABEL_ALONE}
        self.app = create_app({"instance_dir": folder / "instance", "api_keys": [API_KEY], "model_dir": model_dir,
                               **{name.removeprefix("DFG_").lower(): float(value) for name, value in LABEL_ALONE.items()}})
        self.client = self.app.test_client()
        self.auth = {"Authorization": f"Bearer {API_KEY}"}
        self.store, self.images = open_state(Settings(instance_dir=folder / "instance"))
        self.ls_client = LabelStudioClient(ls.url, ls.token)

    def project_id(self) -> int:
        project, _ = self.ls_client.ensure_project(self.title)
        return project.id

    def dispute(self, data: bytes, label: str = "real", comment: str | None = None) -> dict:
        check = self.client.post("/api/v1/checks", headers=self.auth, data=data, content_type="image/jpeg")
        assert check.status_code == 200, check.get_json()
        body = {"label": label, **({"comment": comment} if comment else {})}
        response = self.client.post(f"/api/v1/checks/{check.get_json()['id']}/disputes", headers=self.auth, json=body)
        assert response.status_code == 202, response.get_json()
        return check.get_json()

    def pending(self) -> int:
        return pending_count(self.store)

    def tasks(self) -> list:
        return list(self.ls_client.iter_tasks(self.project_id()))

    def uncertain(self, data: bytes) -> dict:
        """A check the model calls uncertain (needs model_dir=forced_model(band=(0, 1)))."""
        check = self.client.post("/api/v1/checks", headers=self.auth, data=data, content_type="image/jpeg").get_json()
        assert check["verdict"] == "uncertain", check
        return check

    def server(self, **env: str) -> Server:
        return Server({**self.env, **env}, self.folder / "server.log")


@pytest.fixture
def deployment(ls, tmp_path, request) -> Deployment:
    title = f"DFG {request.node.name[5:35]} {uuid.uuid4().hex[:6]}"  # LS titles: 50 chars
    deployed = Deployment(ls, tmp_path, title)
    yield deployed
    deployed.ls_client.close()


@pytest.fixture
def uncertain_deployment(ls, tmp_path, request) -> Deployment:
    """A deployment whose model calls every image uncertain (so uncertain checks are queued too)."""
    from tests.conftest import forced_model

    title = f"DFG {request.node.name[5:35]} {uuid.uuid4().hex[:6]}"
    deployed = Deployment(ls, tmp_path, title, model_dir=forced_model(tmp_path, band=(0.0, 1.0)))
    yield deployed
    deployed.ls_client.close()
