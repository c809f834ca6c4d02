"""The registry two hosts share: record in one database, files in one S3 store (Swift), a local copy on each."""
from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest

from core.blobs import S3Blobs
from core.registry import RegistryError, sha256_file
from core.settings import Settings
from core.shared_models import SharedRegistry, file_key, open_registry
from server.champion import ChampionHolder
from tests.databases import BACKENDS, database
from tests.model_versions import register_copy
from tests.scale_services import s3_bucket


@pytest.fixture(params=BACKENDS)
def hosts(request, tmp_path, monkeypatch):
    """Two registries as two hosts would open them: own instance folders, one database, one bucket."""
    with database(request.param, tmp_path) as url, s3_bucket() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        opened = []
        for host in ("a", "b"):
            settings = Settings(instance_dir=tmp_path / host, database_url=url, model_poll_seconds=0.01)
            opened.append(open_registry(settings))
        yield opened
        for registry in opened:
            registry.store.engine.dispose()


def test_a_version_promoted_on_one_host_is_fetched_verified_and_served_on_the_other(hosts, tmp_path):
    a, b = hosts
    assert isinstance(a, SharedRegistry) and a.pointer() is None and b.pointer_signature() is None
    register_copy(a, "shared-v1", tmp_path)
    register_copy(a, "shared-v2", tmp_path)
    assert b.version_names() == ["shared-v1", "shared-v2"]          # published when added
    assert not (b.root / "shared-v1").exists()
    a.promote("shared-v1", note="first")
    a.promote("shared-v2", note="second")
    assert b.champion() == "shared-v2" and b.pointer()["previous"] == ["shared-v1"]
    folder = b.folder("shared-v2")                                   # fetched by hash, verified
    assert folder == b.root / "shared-v2"
    metadata = json.loads((folder / "metadata.json").read_text())
    for name, digest in metadata["files"].items():
        assert sha256_file(folder / name) == digest == sha256_file(a.root / "shared-v2" / name)
    b.rollback(note="back")
    assert a.champion() == "shared-v1" and a.pointer()["previous"] == []
    history = a.history()
    assert [(e["action"], e["version"], e["replaced"]) for e in history] == [
        ("promote", "shared-v1", None), ("promote", "shared-v2", "shared-v1"), ("rollback", "shared-v1", "shared-v2")]
    assert all(event["host"] for event in history)
    with pytest.raises(RegistryError, match="already the champion"):
        b.promote("shared-v1")


def test_a_file_that_does_not_match_its_hash_is_never_used(hosts, tmp_path):
    a, b = hosts
    register_copy(a, "shared-v1", tmp_path)
    digest = a.metadata("shared-v1")["files"]["model.onnx"]
    blobs: S3Blobs = a.blobs
    blobs.put(file_key(digest), b"tampered" * 1000)
    with pytest.raises(RegistryError, match="does not match its sha256"):
        b.folder("shared-v1")
    assert not (b.root / "shared-v1").exists()
    assert hashlib.sha256(blobs.get(file_key(digest))).hexdigest() != digest


def test_a_host_that_cannot_fetch_the_new_champion_keeps_serving_and_says_why(hosts, tmp_path):
    a, b = hosts
    register_copy(a, "shared-v1", tmp_path)
    register_copy(a, "shared-v2", tmp_path)
    a.promote("shared-v1")
    served = []

    def make_checker(model):
        served.append(model.version)
        return SimpleNamespace(model=model)

    holder = ChampionHolder(b, tmp_path / "unused-fallback", make_checker, threads=1)
    assert holder.current().model.version == "shared-v1" and holder.behind is None
    a.promote("shared-v2")
    a.blobs.delete(file_key(a.metadata("shared-v2")["files"]["model.onnx"]))   # then the store lost a file
    assert holder.current().model.version == "shared-v1"
    assert holder.behind["version"] == "shared-v2" and "missing" in holder.behind["error"]
    assert holder.current().model.version == "shared-v1" and served == ["shared-v1"]   # not retried at once
    a.publish("shared-v2")                                            # the file is uploaded again
    holder._failed = (holder._failed[0], 0)                           # (instead of waiting RETRY_SECONDS)
    assert holder.current().model.version == "shared-v2" and holder.behind is None
    assert served == ["shared-v1", "shared-v2"]
    a.rollback()                                                      # a new change is tried at once
    assert holder.current().model.version == "shared-v1"


def test_without_a_blob_url_the_registry_is_the_instance_folder(tmp_path):
    registry = open_registry(Settings(instance_dir=tmp_path))
    assert not registry.shared and registry.root == tmp_path / "models"
    assert not isinstance(registry, SharedRegistry)
