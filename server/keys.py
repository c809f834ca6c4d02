"""API keys kept in the store: created and revoked with `deepfake-guard keys`, checked per request.

Only a key's SHA-256 is stored (keys are long random tokens, so a fast hash is enough). Lookups are
cached per process for KEY_CACHE_SECONDS, so a revoked key stops working within that time.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timezone

from sqlalchemy import select

from core.store import ApiKey, Store

KEY_PREFIX = "dfg_"
KEY_CACHE_SECONDS = 10.0


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, name: str) -> tuple[ApiKey, str]:
    """Store a new key; returns its row and the key itself (shown once, never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(id=secrets.token_hex(4), name=name, key_sha256=digest(key))
    with store.session() as session:
        session.add(row)
    return row, key


def list_keys(store: Store) -> list[ApiKey]:
    with store.session() as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke a key by id; False when there is no such active key."""
    with store.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(timezone.utc)
    return True


class StoredKeys:
    """Answers "which stored key is this?" with a short per-process cache."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._any_active: tuple[bool, float] = (False, 0.0)
        self._lock = threading.Lock()

    def any_active(self) -> bool:
        value, expires = self._any_active
        if time.monotonic() < expires:
            return value
        with self.store.session() as session:
            value = session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None
        self._any_active = (value, time.monotonic() + KEY_CACHE_SECONDS)
        return value

    def identify(self, key: str) -> str | None:
        """The id of the active stored key equal to `key`, or None."""
        hashed = digest(key)
        with self._lock:
            cached = self._cache.get(hashed)
        if cached and time.monotonic() < cached[1]:
            return cached[0]
        with self.store.session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.key_sha256 == hashed)).first()
        found = row.id if row is not None and row.revoked_at is None and \
            secrets.compare_digest(row.key_sha256, hashed) else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[hashed] = (found, time.monotonic() + KEY_CACHE_SECONDS)
        return found
