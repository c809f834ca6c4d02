"""Shared fixtures: the real app from the factory, a real SQLite file (or PostgreSQL), the shipped model."""
from __future__ import annotations

import os

import pytest

from tests.databases import BACKENDS, database

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver for the whole session (the extension e2e tests and the Label Studio UI test):
    its sync API runs an event loop, and a second one in the same thread is refused."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def database_url():
    """The store behind `app`: None is SQLite in the instance folder.

    A module that tests the store on both backends overrides this with `each_database_url`.
    """
    return None


@pytest.fixture(params=BACKENDS)
def each_database_url(request, tmp_path):
    """An empty database, once on SQLite and once on PostgreSQL (skipped without DFG_TEST_POSTGRES_URL)."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(tmp_path, database_url):
    from server import create_app

    return create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY], "database_url": database_url})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {API_KEY}"}


def forced_model(tmp_path, band: tuple[float, float], threshold: float = 0.5, version: str = "forced-test"):
    """A copy of the shipped model whose metadata forces verdicts (e.g. band (0, 1) → always uncertain)."""
    import json
    import shutil

    import models

    folder = tmp_path / f"model-{version}"
    shutil.copytree(models.DEFAULT_MODEL_DIR, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata.update(threshold=threshold, uncertain_band=list(band), version=version)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder
