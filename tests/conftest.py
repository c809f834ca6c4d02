"""Shared fixtures: the real app from the factory, a real SQLite file, the shipped model."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

API_KEY = "test-key-0123456789"


@pytest.fixture
def app(tmp_path):
    from server import create_app

    return create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY]})


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
