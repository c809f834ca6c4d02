"""API keys kept in the store: created and revoked with `deepfake-guard keys`, checked per request.

Only a key's SHA-256 is stored (keys are long random tokens, so a fast hash is enough). Lookups are
cached per process for KEY_CACHE_SECONDS, so a revoked key stops working within that time.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from core.store import ApiKey, Enrollment, Store

KEY_PREFIX = "dfg_"
ENROLLMENT_PREFIX = "dfge_"
KEY_CACHE_SECONDS = 10.0


class EnrollmentRefused(LookupError):
    """A code that is unknown, already used or expired: `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, name: str) -> tuple[ApiKey, str]:
    """Store a new key; returns its row and the key itself (shown once, never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(id=secrets.token_hex(4), name=name, key_sha256=digest(key))
    with store.session() as session:
        session.add(row)
    return row, key


def create_enrollment(store: Store, name: str, hours: float) -> tuple[Enrollment, str]:
    """A one-time code that becomes a key named `name` when redeemed within `hours` (shown once)."""
    code = ENROLLMENT_PREFIX + secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    row = Enrollment(code_sha256=digest(code), name=name, created_at=now, expires_at=now + timedelta(hours=hours))
    with store.session() as session:
        session.add(row)
    return row, code


def redeem_enrollment(store: Store, code: str) -> tuple[ApiKey, str]:
    """Use a code once: a new key with the enrolment's name. Raises EnrollmentRefused."""
    hashed, now = digest(code.strip()), datetime.now(UTC)
    with store.session() as session:
        # One conditional UPDATE: two redemptions at once cannot both win.
        taken = session.execute(update(Enrollment).where(
            Enrollment.code_sha256 == hashed, Enrollment.redeemed_at.is_(None), Enrollment.expires_at > now)
            .values(redeemed_at=now).execution_options(synchronize_session=False)).rowcount
        row = session.get(Enrollment, hashed)
        if not taken:
            raise EnrollmentRefused("unknown" if row is None else "used" if row.redeemed_at else "expired")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        api_key = ApiKey(id=secrets.token_hex(4), name=row.name, key_sha256=digest(key))
        session.add(api_key)
        row.key_id = api_key.id
    return api_key, key


def list_keys(store: Store) -> list[ApiKey]:
    with store.session() as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke a key by id; False when there is no such active key."""
    with store.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(UTC)
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

    def revoked_id(self, key: str) -> str | None:
        """The id of a revoked stored key equal to `key` (asked only after a key was refused)."""
        with self.store.session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.key_sha256 == digest(key))).first()
        return row.id if row is not None and row.revoked_at is not None else None

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
