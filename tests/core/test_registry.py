"""The registry: versions, promote, rollback, the atomic champion pointer, the CLI."""
from __future__ import annotations

import json
import os
import threading

import pytest
from click.testing import CliRunner

from cli import main
from core.registry import POINTER_FILE, Registry, RegistryError
from tests.model_versions import register_copy


@pytest.fixture
def registry(tmp_path):
    return Registry.for_instance(tmp_path / "instance")


def test_promote_and_rollback_walk_the_champion_history(registry, tmp_path):
    for version in ("v1", "v2", "v3"):
        register_copy(registry, version, tmp_path)
    assert registry.champion() is None
    registry.promote("v1")
    registry.promote("v2")
    registry.promote("v3")
    assert registry.champion() == "v3"
    assert registry.rollback()["version"] == "v2"
    assert registry.rollback()["version"] == "v1"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    assert registry.champion() == "v1"
    events = [(event["action"], event["version"], event["replaced"]) for event in registry.history()]
    assert events == [("promote", "v1", None), ("promote", "v2", "v1"), ("promote", "v3", "v2"),
                      ("rollback", "v2", "v3"), ("rollback", "v1", "v2")]


def test_promote_refuses_unknown_tampered_and_current_versions(registry, tmp_path):
    register_copy(registry, "good", tmp_path)
    register_copy(registry, "tampered", tmp_path)
    with pytest.raises(RegistryError, match="no model version 'missing'"):
        registry.promote("missing")
    with pytest.raises(RegistryError, match="invalid model version"):
        registry.promote("../escape")
    with (registry.folder("tampered") / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RegistryError, match="does not match the sha256"):
        registry.promote("tampered")
    registry.promote("good")
    with pytest.raises(RegistryError, match="already the champion"):
        registry.promote("good")
    assert registry.champion() == "good"


def test_versions_are_never_overwritten(registry, tmp_path):
    register_copy(registry, "v1", tmp_path)
    with pytest.raises(RegistryError, match="already exists"):
        register_copy(registry, "v1", tmp_path / "again")
    assert [m["version"] for m in registry.versions()] == ["v1"]
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".staging")]


def test_pointer_is_replaced_whole_never_written_in_place(registry, tmp_path):
    for version in ("a", "b"):
        register_copy(registry, version, tmp_path)
    registry.promote("a")
    before = os.stat(registry.root / POINTER_FILE)
    registry.promote("b")
    after = os.stat(registry.root / POINTER_FILE)
    assert before.st_ino != after.st_ino  # a new file moved over the old one (os.replace)
    assert registry.pointer_signature() != (before.st_ino, before.st_mtime_ns, before.st_size)
    assert not [p for p in registry.root.iterdir() if p.name.endswith(".tmp")]


def test_readers_never_see_a_partial_pointer_during_promotions(registry, tmp_path):
    for version in ("a", "b"):
        register_copy(registry, version, tmp_path)
    registry.promote("a")
    seen, errors, stop = set(), [], threading.Event()

    def read():
        reader = Registry(registry.root)
        while not stop.is_set():
            try:
                seen.add(json.loads((reader.root / POINTER_FILE).read_text())["version"])
            except Exception as error:  # a torn or missing file would land here
                errors.append(repr(error))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for _ in range(40):
        registry.promote("b")
        registry.rollback()
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == {"a", "b"}


def test_models_commands(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(instance))
    registry = Registry.for_instance(instance)
    runner = CliRunner()
    empty = runner.invoke(main, ["models", "list"])
    assert empty.exit_code == 0 and "shipped default" in empty.output
    for version in ("first", "second"):
        register_copy(registry, version, tmp_path)
    assert runner.invoke(main, ["models", "promote", "first"]).exit_code == 0
    promoted = runner.invoke(main, ["models", "promote", "second", "--note", "better"])
    assert promoted.exit_code == 0, promoted.output
    listing = runner.invoke(main, ["models", "list"]).output
    assert "* second" in listing and "  first" in listing
    shown = runner.invoke(main, ["models", "show", "second"])
    assert shown.exit_code == 0 and '"version": "second"' in shown.output and "files match" in shown.output
    assert "champion: first" in runner.invoke(main, ["models", "rollback"]).output
    history = runner.invoke(main, ["models", "history"]).output
    assert "promote  second" in history and "# better" in history and "rollback first" in history
    failed = runner.invoke(main, ["models", "promote", "nope"])
    assert failed.exit_code != 0 and "no model version 'nope'" in failed.output
