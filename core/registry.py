"""The model registry: version folders under the instance folder and an atomically switched champion.

    <instance>/models/<version>/      model.keras, model.onnx, metadata.json, plots, card (never changed)
    <instance>/models/CHAMPION.json   {"version", "promoted_at", "previous": [older champions, newest last]}
    <instance>/models/promotions.jsonl  one line per promote or rollback (the history)
    <instance>/models/retraining.jsonl  one line per retraining decision (feedback/retrain.py)

The pointer is written to a temporary file and moved over the old one with os.replace, so a reader
sees either the old or the new champion, never half a file. Writers take an exclusive file lock so
two promotions cannot interleave. No TensorFlow here: the server reads the pointer on every request.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.files import write_atomic

REGISTRY_DIR = "models"
POINTER_FILE = "CHAMPION.json"
HISTORY_FILE = "promotions.jsonl"
RETRAINING_FILE = "retraining.jsonl"
LOCK_FILE = ".lock"
METADATA_FILE = "metadata.json"
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
# The shipped default model (package data of `models`), served while nothing is promoted. A path, not an
# import: core and the server never import the training package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"


class RegistryError(RuntimeError):
    """A registry operation that cannot be done (unknown version, nothing to roll back to, bad files)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_version_name(version: str) -> str:
    if not VERSION_PATTERN.match(version or ""):
        raise RegistryError(f"invalid model version {version!r}: use 1–100 letters, digits and . _ + - "
                            "(starting with a letter or digit)")
    return version


def verify_files(folder: Path, metadata: dict) -> None:
    """Raise RegistryError unless every file listed in metadata["files"] exists with its sha256."""
    files = metadata.get("files") or {}
    if "model.onnx" not in files:
        raise RegistryError(f"{folder}: metadata lists no hash for model.onnx")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise RegistryError(f"{folder}: {name} is missing")
        if sha256_file(path) != expected:
            raise RegistryError(f"{folder}: {name} does not match the sha256 in metadata.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Registry:
    """Versions and the champion pointer in one folder (`<instance>/models`)."""

    shared = False      # True for the registry every host shares (core/shared_models.py)

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_instance(cls, instance_dir: str | Path) -> Registry:
        return cls(Path(instance_dir) / REGISTRY_DIR)

    @property
    def pointer_path(self) -> Path:
        return self.root / POINTER_FILE

    # --- reading -----------------------------------------------------------------------------------
    def folder(self, version: str) -> Path:
        folder = self.root / check_version_name(version)
        if not (folder / METADATA_FILE).is_file():
            known = ", ".join(self.version_names()) or "none"
            raise RegistryError(f"no model version {version!r} in {self.root} (known: {known})")
        return folder

    def metadata(self, version: str) -> dict:
        path = self.folder(version) / METADATA_FILE
        try:
            return json.loads(path.read_text())
        except OSError as error:
            raise RegistryError(f"{path}: cannot read it ({error.strerror or error})") from error
        except ValueError as error:
            raise RegistryError(f"{path}: not valid JSON ({error}); restore the file or promote another version") \
                from error

    def version_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / METADATA_FILE).is_file())

    def versions(self) -> list[dict]:
        """Metadata of every version, oldest first."""
        found = []
        for name in self.version_names():
            try:
                found.append(json.loads((self.root / name / METADATA_FILE).read_text()))
            except (OSError, ValueError):
                found.append({"version": name, "error": "unreadable metadata.json"})
        return sorted(found, key=lambda m: (m.get("created_at") or "", m.get("version", "")))

    def pointer(self) -> dict | None:
        """The champion pointer, or None when nothing was ever promoted."""
        try:
            return json.loads(self.pointer_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as error:
            raise RegistryError(f"{self.pointer_path}: unreadable champion pointer ({error})") from error

    def champion(self) -> str | None:
        pointer = self.pointer()
        return pointer["version"] if pointer else None

    def pointer_signature(self) -> tuple | None:
        """A cheap fingerprint of the pointer file (one stat): changes whenever it is replaced."""
        try:
            stat = self.pointer_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def history(self) -> list[dict]:
        path = self.root / HISTORY_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def retraining(self) -> list[dict]:
        """Every retraining decision (promoted, rejected, dry run, skipped, failed), oldest first."""
        path = self.root / RETRAINING_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def record_retraining(self, decision: dict) -> None:
        """Append one retraining decision (both models' metrics, the data used, the reason)."""
        with self._locked():
            with open(self.root / RETRAINING_FILE, "a") as out:
                out.write(json.dumps(decision) + "\n")
                out.flush()
                os.fsync(out.fileno())

    def verify(self, version: str) -> dict:
        """Metadata of `version` after checking its files against their hashes (RegistryError if not)."""
        folder = self.folder(version)
        metadata = self.metadata(version)
        if metadata.get("version") != version:
            raise RegistryError(f"{folder}: metadata.json names version {metadata.get('version')!r}")
        verify_files(folder, metadata)
        return metadata

    # --- writing -----------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def staging(self, version: str) -> Iterator[Path]:
        """A temporary folder to write a new version into; it appears under its name only when complete."""
        check_version_name(version)
        if (self.root / version).exists():
            raise RegistryError(f"model version {version!r} already exists in {self.root}")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".staging-{version}-"))
        try:
            yield staging
            metadata = json.loads((staging / METADATA_FILE).read_text())
            if metadata.get("version") != version:
                raise RegistryError(f"staged metadata names version {metadata.get('version')!r}, not {version!r}")
            verify_files(staging, metadata)
            os.chmod(staging, 0o755)  # mkdtemp made it private; a version folder is readable like any other
            os.rename(staging, self.root / version)  # fails if the name was taken meanwhile
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def add(self, source: str | Path) -> str:
        """Copy a complete model folder into the registry under the version its metadata names."""
        source = Path(source)
        version = json.loads((source / METADATA_FILE).read_text())["version"]
        with self.staging(version) as staging:
            shutil.copytree(source, staging, dirs_exist_ok=True)
        return version

    def _record(self, event: dict) -> None:
        with open(self.root / HISTORY_FILE, "a") as history:
            history.write(json.dumps(event) + "\n")

    def promote(self, version: str, note: str = "") -> dict:
        """Make `version` the champion (after checking its files); the old champion is kept for rollback."""
        with self._locked():
            self.verify(version)
            pointer = self.pointer()
            previous = list(pointer.get("previous", [])) if pointer else []
            current = pointer["version"] if pointer else None
            if current == version:
                raise RegistryError(f"{version} is already the champion")
            if current:
                previous.append(current)
            new = {"version": version, "promoted_at": _now(), "previous": previous}
            write_atomic(self.pointer_path, json.dumps(new, indent=1).encode())
            self._record({"action": "promote", "version": version, "replaced": current, "at": new["promoted_at"],
                          "note": note})
            return new

    def rollback(self, note: str = "") -> dict:
        """Make the previous champion the champion again (its files checked first)."""
        with self._locked():
            pointer = self.pointer()
            if not pointer or not pointer.get("previous"):
                raise RegistryError("nothing to roll back to: no earlier champion was recorded "
                                    "(the shipped default serves when no version is promoted)")
            previous = list(pointer["previous"])
            target = previous.pop()
            self.verify(target)
            new = {"version": target, "promoted_at": _now(), "previous": previous}
            write_atomic(self.pointer_path, json.dumps(new, indent=1).encode())
            self._record({"action": "rollback", "version": target, "replaced": pointer["version"],
                          "at": new["promoted_at"], "note": note})
            return new


def resolve_model(spec: str | Path | None, instance_dir: Path | None = None, registry: Registry | None = None) -> Path:
    """The model folder for `spec`: a folder path, a registry version, or (None) what the server serves.

    What the server serves: the registry's champion, else the shipped default. The registry is `registry`, else
    the one in `instance_dir`.
    """
    registry = registry or (Registry.for_instance(instance_dir) if instance_dir else None)
    if spec is None:
        champion = registry.champion() if registry else None
        return registry.folder(champion) if champion else DEFAULT_MODEL_DIR
    path = Path(spec)
    if (path / "metadata.json").is_file():
        return path
    if registry is not None:
        try:
            return registry.folder(str(spec))
        except RegistryError as error:
            raise RegistryError(f"{spec!r} is neither a model folder nor a registered version: {error}") from error
    raise RegistryError(f"{spec!r} is not a model folder (no metadata.json)")
