"""Registry versions for tests, made from the shipped model's files (no TensorFlow, no training)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import models
from core.registry import Registry, sha256_file
from core.served_model import Runtime, probe_batch

SERVED_FILES = ("model.onnx", "model.keras")


def model_copy(folder: Path, version: str, **metadata_changes) -> Path:
    """A copy of the shipped model's servable files under another version name (hashes and probe recomputed)."""
    folder.mkdir(parents=True)
    for name in SERVED_FILES + ("metadata.json",):
        shutil.copy(models.DEFAULT_MODEL_DIR / name, folder / name)
    metadata = json.loads((folder / "metadata.json").read_text())
    size = int(metadata["input_size"])
    metadata.update(version=version, plots=[], parent_version=None,
                    probe={"fake_probability": Runtime(folder / "model.onnx").predict(probe_batch(size)).tolist()},
                    files={name: sha256_file(folder / name) for name in SERVED_FILES})
    metadata.update(metadata_changes)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


def register_copy(registry: Registry, version: str, scratch: Path, **metadata_changes) -> str:
    return registry.add(model_copy(scratch / f"src-{version}", version, **metadata_changes))


def register_corrupt(registry: Registry, version: str, scratch: Path) -> str:
    """A version whose runtime file is garbage but whose metadata lists its hash (so promote accepts it)."""
    folder = model_copy(scratch / f"src-{version}", version)
    (folder / "model.onnx").write_bytes(b"not an onnx model" * 100)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["files"]["model.onnx"] = sha256_file(folder / "model.onnx")
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return registry.add(folder)
