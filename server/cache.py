"""The result cache: an image checked again is answered without decoding or scoring it.

Entries live in the store (table `result_cache`), so every gunicorn worker, and every server on a
shared PostgreSQL, sees the others' results. The key is (sha256 of the bytes, model version,
pipeline fingerprint): a new champion model, or a changed detector setting, misses and re-scores.
A cached answer still becomes a new check with its own id (and a `cached_checks` row naming the
check that was scored), so disputes, reviews and history stay per check.

Only byte-identical images hit. A perceptual hash would also match a re-encoded or resized copy,
but it is built to ignore small local changes, which is exactly what a face swap is: see
BENCHMARKS.md ("Near-duplicates") for the measurement that kept it out.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import crops, provenance
from core.settings import Settings
from core.store import ResultCacheEntry

log = logging.getLogger(__name__)
# Bump when a code change alters results for the same model and settings (crops, faces, verdicts).
PIPELINE_REVISION = 1


def pipeline_fingerprint(settings: Settings) -> str:
    """16 hex digits naming everything besides the model that decides a check's result."""
    parts = {"revision": PIPELINE_REVISION, "provenance": provenance.VERSION, "face_min_score": settings.face_min_score,
             "max_faces": settings.max_faces, "max_pixels": settings.max_pixels,
             "crop": [crops.FACE_CROP_SCALE, crops.FACE_CROP_RAISE, crops.CROP_SIZE, crops.MAX_ENLARGEMENT]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CachedResult:
    """What a check needs from an earlier scoring of the same bytes."""

    check_id: str
    result: dict   # verdict, reason, fake_probability, faces, scope, width, height, format, provenance


class ResultCache:
    """Look-ups and inserts on the caller's store session; the caller owns the transaction.

    Args:
        size: most entries kept (0 turns the cache off). Each process prunes the oldest entries
            after every `size // 20` inserts, so the table holds at most about
            size × (1 + workers / 20) rows.
        pipeline: the fingerprint of this server's detector settings.
    """

    def __init__(self, size: int, pipeline: str) -> None:
        self.size = size
        self.pipeline = pipeline
        self.prune_every = max(1, size // 20)
        self._inserts = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def lookup(self, session: Session, sha256: str, model_version: str) -> CachedResult | None:
        if not self.enabled:
            return None
        row = session.execute(select(ResultCacheEntry.check_id, ResultCacheEntry.result).where(
            ResultCacheEntry.sha256 == sha256, ResultCacheEntry.model_version == model_version,
            ResultCacheEntry.pipeline == self.pipeline)).first()
        return CachedResult(check_id=row.check_id, result=row.result) if row else None

    def put(self, session: Session, sha256: str, model_version: str, check_id: str, result: dict) -> None:
        """Remember a result; a concurrent insert of the same key (another worker) wins quietly."""
        if not self.enabled:
            return
        values = dict(sha256=sha256, model_version=model_version, pipeline=self.pipeline, check_id=check_id,
                      result=result)
        dialect = session.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
            session.execute(insert(ResultCacheEntry).values(**values).on_conflict_do_nothing(
                index_elements=["sha256", "model_version", "pipeline"]))
        elif self.lookup(session, sha256, model_version) is None:
            session.add(ResultCacheEntry(**values))

    def due_for_pruning(self) -> bool:
        """Count an insert; True once every `prune_every` inserts (then call prune in a new transaction)."""
        with self._lock:
            self._inserts += 1
            return self.enabled and self._inserts % self.prune_every == 0

    def prune(self, session: Session) -> int:
        """Delete the oldest entries beyond `size`; returns how many were deleted."""
        newest_dropped = session.scalar(select(ResultCacheEntry.id).order_by(ResultCacheEntry.id.desc())
                                        .offset(self.size).limit(1))
        if newest_dropped is None:
            return 0
        removed = session.execute(delete(ResultCacheEntry).where(ResultCacheEntry.id <= newest_dropped)).rowcount
        log.info("result cache: pruned %d entries beyond %d", removed, self.size)
        return removed

    @staticmethod
    def count(session: Session) -> int:
        return session.scalar(select(func.count()).select_from(ResultCacheEntry)) or 0


def result_cache() -> ResultCache:
    return current_app.extensions["result_cache"]


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["result_cache"] = ResultCache(settings.result_cache_size, pipeline_fingerprint(settings))
