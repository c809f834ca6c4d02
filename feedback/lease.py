"""A named lease in the store: at most one holder at a time, across processes and hosts.

Kept as a row of the key/value table `job_state` (no schema change): value = {"owner", "until"}.
Taking it is a compare-and-set: insert the row (a concurrent insert fails on the primary key) or
replace an expired value with `UPDATE … WHERE value = <the expired value we read>`, which matches no
row if someone else replaced it first (SQLite serialises writers; PostgreSQL re-checks the WHERE
after a concurrent commit). A holder that dies leaves the row behind; it expires after the lease.
"""
from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from core.store import JobState, Store


def _now() -> datetime:
    return datetime.now(UTC)


def parse_holder(value: str | None) -> dict | None:
    try:
        holder = json.loads(value) if value else None
        return {"owner": str(holder["owner"]), "until": datetime.fromisoformat(holder["until"])}
    except (ValueError, KeyError, TypeError):
        return None   # unreadable: treated as expired


class Lease:
    """`acquire()` once, `renew()` while working, `release()` when done.

    Args:
        store: the store.
        name: the lease's row name in job_state.
        seconds: how long a taken or renewed lease lasts.
    """

    def __init__(self, store: Store, name: str, seconds: float, owner: str | None = None) -> None:
        self.store, self.name, self.seconds = store, name, seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._value: str | None = None   # what we wrote, while we hold it

    @property
    def held(self) -> bool:
        return self._value is not None

    def _new_value(self, now: datetime) -> str:
        return json.dumps({"owner": self.owner, "until": (now + timedelta(seconds=self.seconds)).isoformat()})

    def holder(self) -> dict | None:
        """Who holds the lease now ({"owner", "until"}), or None when it is free or expired."""
        with self.store.session() as session:
            value = session.scalar(select(JobState.value).where(JobState.name == self.name))
        holder = parse_holder(value)
        return holder if holder and holder["until"] > _now() else None

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the lease if it is free or expired. Returns False when someone else holds it."""
        now = now or _now()
        new = self._new_value(now)
        try:
            with self.store.session() as session:
                current = session.scalar(select(JobState.value).where(JobState.name == self.name))
                if current is None:
                    session.add(JobState(name=self.name, value=new))
                    session.flush()
                else:
                    holder = parse_holder(current)
                    if holder and holder["until"] > now:
                        return False
                    swapped = session.execute(update(JobState).where(
                        JobState.name == self.name, JobState.value == current).values(value=new))
                    if swapped.rowcount != 1:
                        return False
        except (IntegrityError, OperationalError):
            return False   # a concurrent taker won the insert (or the write lock) first
        self._value = new
        return True

    def renew(self, now: datetime | None = None) -> bool:
        """Extend a held lease. Returns False if it was lost (it expired and someone else took it)."""
        if self._value is None:
            return False
        new = self._new_value(now or _now())
        with self.store.session() as session:
            swapped = session.execute(update(JobState).where(
                JobState.name == self.name, JobState.value == self._value).values(value=new))
        if swapped.rowcount != 1:
            self._value = None
            return False
        self._value = new
        return True

    def release(self) -> None:
        """Give the lease back (only if we still hold it)."""
        if self._value is None:
            return
        with self.store.session() as session:
            session.execute(delete(JobState).where(JobState.name == self.name, JobState.value == self._value))
        self._value = None
