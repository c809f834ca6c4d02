"""The model registry across hosts: its record in the database, its files in object storage, a copy on each host.

`open_registry(settings)` gives the registry the settings name: the instance folder's (`Registry`), or, with
DFG_BLOB_URL set, a SharedRegistry:

    database   model_versions (metadata.json of each published version), model_champion (one row: the champion,
               earlier champions, a revision that goes up with each change), model_events (the history)
    blobs      models/files/<sha256>: every file a version's metadata lists, stored once by content
    local      <instance>/models/<version>/: a host's copy, fetched by hash and verified before it is used

A promote or rollback on any host bumps the champion's revision; each server asks for it every
DFG_MODEL_POLL_SECONDS (`pointer_signature`) and the ChampionHolder (server/champion.py) fetches, verifies and
swaps in the new champion as it does for a local promote. A host that cannot fetch or verify it keeps serving the
model it has and reports that in /readyz.
"""
from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.blobs import BlobError, Blobs, open_blobs
from core.registry import METADATA_FILE, REGISTRY_DIR, Registry, RegistryError, _now, check_version_name
from core.store import ModelChampion, ModelEvent, ModelVersion, Store

log = logging.getLogger(__name__)
CHAMPION_ROW = 1


def open_registry(settings=None) -> Registry:
    """The registry `settings` name (DFG_* variables by default): the instance folder's, or with DFG_BLOB_URL the
    one every host shares."""
    from core.settings import Settings

    settings = settings or Settings()
    if not settings.blob_url:
        return Registry.for_instance(settings.instance_path())
    return SharedRegistry(settings.instance_path() / REGISTRY_DIR, Store.for_settings(settings), open_blobs(settings),
                          settings.model_poll_seconds)


def file_key(sha256: str) -> str:
    return f"models/files/{sha256}"


class SharedRegistry(Registry):
    """A Registry whose champion, versions and history live in the store and whose files live in blobs.

    Args:
        root: this host's folder of local copies (`<instance>/models`).
        poll_seconds: how long `pointer_signature` trusts the champion revision it last read.
    """

    shared = True

    def __init__(self, root: str | Path, store: Store, blobs: Blobs, poll_seconds: float = 5.0) -> None:
        super().__init__(root)
        self.store, self.blobs, self.poll_seconds = store, blobs, poll_seconds
        self._signature: tuple | None = None
        self._signature_read = float("-inf")
        self._poll_lock = threading.Lock()

    # --- the record --------------------------------------------------------------------------------------
    def pointer(self) -> dict | None:
        with self.store.session() as session:
            row = session.get(ModelChampion, CHAMPION_ROW)
            if row is None:
                return None
            return {"version": row.version, "promoted_at": row.promoted_at, "previous": list(row.previous),
                    "revision": row.revision}

    def pointer_signature(self) -> tuple | None:
        """The champion's revision, read from the store at most every poll_seconds (a failed read keeps the last)."""
        now = time.monotonic()
        if now - self._signature_read < self.poll_seconds or not self._poll_lock.acquire(blocking=False):
            return self._signature
        try:
            with self.store.session(durable=False) as session:
                row = session.execute(select(ModelChampion.revision, ModelChampion.version)
                                      .where(ModelChampion.id == CHAMPION_ROW)).first()
            self._signature = (row.revision, row.version) if row else None
        except SQLAlchemyError as error:
            log.warning("model registry: cannot read the champion (%s); still serving what this host has",
                        error.__class__.__name__)
        finally:
            self._signature_read = now
            self._poll_lock.release()
        return self._signature

    def history(self) -> list[dict]:
        with self.store.session() as session:
            rows = session.scalars(select(ModelEvent).order_by(ModelEvent.id)).all()
            return [{"action": r.action, "version": r.version, "replaced": r.replaced, "at": r.at, "note": r.note,
                     "host": r.host} for r in rows]

    def published(self) -> dict[str, dict]:
        """version → metadata of every published version."""
        with self.store.session() as session:
            return {row.version: row.model_metadata for row in session.scalars(select(ModelVersion)).all()}

    def version_names(self) -> list[str]:
        return sorted(set(super().version_names()) | set(self.published()))

    def versions(self) -> list[dict]:
        local = {meta.get("version"): meta for meta in super().versions()}
        merged = {**self.published(), **local}
        return sorted(merged.values(), key=lambda m: (m.get("created_at") or "", m.get("version", "")))

    # --- files ---------------------------------------------------------------------------------------------
    def folder(self, version: str) -> Path:
        """This host's copy of `version`, fetched from the blob store first when it has none."""
        check_version_name(version)
        if (self.root / version / METADATA_FILE).is_file():
            return self.root / version
        return self.fetch(version)

    def fetch(self, version: str) -> Path:
        """Download a published version's files by hash into this host's registry folder, each verified."""
        with self.store.session() as session:
            row = session.get(ModelVersion, version)
            metadata = row.model_metadata if row else None
        if metadata is None:
            known = ", ".join(self.version_names()) or "none"
            raise RegistryError(f"no model version {version!r} in the shared registry (known: {known})")
        started = time.perf_counter()
        try:
            with self.staging(version) as staging:
                for name, sha256 in (metadata.get("files") or {}).items():
                    data = self.blobs.get(file_key(sha256))
                    if data is None:
                        raise RegistryError(f"{version}: {name} ({sha256[:12]}…) is missing from {self.blobs.describe()}")
                    if hashlib.sha256(data).hexdigest() != sha256:
                        raise RegistryError(f"{version}: {name} from {self.blobs.describe()} does not match its sha256")
                    (staging / name).parent.mkdir(parents=True, exist_ok=True)
                    (staging / name).write_bytes(data)
                (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=1))
        except BlobError as error:
            raise RegistryError(f"{version}: cannot fetch its files ({error})") from error
        except RegistryError:
            if (self.root / version / METADATA_FILE).is_file():   # another process of this host fetched it first
                return self.root / version
            raise
        log.info("model %s fetched from %s in %.0f ms", version, self.blobs.describe(),
                 (time.perf_counter() - started) * 1000)
        return self.root / version

    def publish(self, version: str) -> dict:
        """Upload a local version's files (those not there yet) and record it; idempotent."""
        metadata = super().verify(version)
        folder = self.root / version
        for name, sha256 in (metadata.get("files") or {}).items():
            if not self.blobs.exists(file_key(sha256)):
                self.blobs.put(file_key(sha256), (folder / name).read_bytes())
        with self.store.session() as session:
            if session.get(ModelVersion, version) is None:
                session.add(ModelVersion(version=version, model_metadata=metadata))
        return metadata

    def add(self, source: str | Path) -> str:
        version = super().add(source)
        try:
            self.publish(version)
        except (BlobError, SQLAlchemyError) as error:
            log.warning("model %s registered on this host only (%s); `models promote` publishes it", version, error)
        return version

    # --- changes ---------------------------------------------------------------------------------------------
    def promote(self, version: str, note: str = "") -> dict:
        """Make `version` the champion on every host (publishing it first when only this host has it)."""
        check_version_name(version)
        if (self.root / version / METADATA_FILE).is_file():
            try:
                self.publish(version)
            except BlobError as error:
                raise RegistryError(f"cannot publish {version}: {error}") from error
        else:
            self.verify(version)   # fetched and checked: a version other hosts could not load is not promoted

        def change(session) -> dict:
            if session.get(ModelVersion, version) is None:
                raise RegistryError(f"no model version {version!r} in the shared registry")
            row = self._locked_champion(session)
            current = row.version if row else None
            if current == version:
                raise RegistryError(f"{version} is already the champion")
            previous = [*row.previous, current] if row else []
            return self._write(session, row, "promote", version, current, previous, note)

        return self.store.run(change)

    def rollback(self, note: str = "") -> dict:
        def change(session) -> dict:
            row = self._locked_champion(session)
            if row is None or not row.previous:
                raise RegistryError("nothing to roll back to: no earlier champion was recorded "
                                    "(the shipped default serves when no version is promoted)")
            previous = list(row.previous)
            target = previous.pop()
            return self._write(session, row, "rollback", target, row.version, previous, note)

        pointer = self.pointer()
        if pointer and pointer["previous"]:
            self.verify(pointer["previous"][-1])
        return self.store.run(change)

    @staticmethod
    def _locked_champion(session) -> ModelChampion | None:
        # FOR UPDATE on PostgreSQL (two promotions at once take turns); SQLite has one writer anyway.
        return session.scalars(select(ModelChampion).where(ModelChampion.id == CHAMPION_ROW).with_for_update()).first()

    @staticmethod
    def _write(session, row, action, version, replaced, previous, note) -> dict:
        at = _now()
        if row is None:
            revision = (session.scalar(select(func.count()).select_from(ModelEvent)) or 0) + 1
            session.add(ModelChampion(id=CHAMPION_ROW, version=version, promoted_at=at, previous=previous,
                                      revision=revision))
        else:
            row.version, row.promoted_at, row.previous, row.revision = version, at, previous, row.revision + 1
            revision = row.revision
        session.add(ModelEvent(action=action, version=version, replaced=replaced, at=at, note=note,
                               host=socket.gethostname()))
        return {"version": version, "promoted_at": at, "previous": previous, "revision": revision}
