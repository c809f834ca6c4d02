"""The review outbox in the store: claim rows for one sync at a time, then mark them sent or failed.

A claim is a lease (`claimed_by`, `claimed_until`) taken by one conditional UPDATE, so two syncs —
threads, processes or machines on SQLite or PostgreSQL — never work on the same row at once, and a
sync that dies leaves rows that the next one takes over when the lease ends. Every write after the
claim is conditional on still holding it.
"""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.store import Check, Dispute, ReviewItem, Store
from core.store.tables import utcnow
from feedback.tasks import task_fields

MAX_ERROR_LENGTH = 2000


def new_claim_token() -> str:
    """Unique per claim round; says who holds a row (host and pid) for an operator reading the table."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _needs_push():
    return or_(ReviewItem.push_state == "pending", ReviewItem.data_stale.is_(True))


def _free(now: datetime):
    return or_(ReviewItem.claimed_until.is_(None), ReviewItem.claimed_until < now)


def claim(store: Store, token: str, limit: int, lease_seconds: float, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` rows that need a push and are not held by a live lease.

    Returns:
        The ids of the rows now held by `token`, fewest attempts first.
    """
    now = now or utcnow()
    # SKIP LOCKED (PostgreSQL; SQLite, which serialises writers, ignores it): a sync claiming at the
    # same moment takes the next rows instead of queueing behind ours and coming away empty.
    candidates = (select(ReviewItem.id).where(_needs_push(), _free(now))
                  .order_by(ReviewItem.attempts, ReviewItem.id).limit(limit).with_for_update(skip_locked=True))
    with store.session() as session:
        # The conditions are repeated on the UPDATE itself: a row another sync claimed between the
        # sub-select and the write no longer matches (PostgreSQL re-checks them on the new row version).
        session.execute(update(ReviewItem)
                        .where(ReviewItem.id.in_(candidates.scalar_subquery()), _needs_push(), _free(now))
                        .values(claimed_by=token, claimed_until=now + timedelta(seconds=lease_seconds))
                        .execution_options(synchronize_session=False))
    with store.session() as session:
        return list(session.scalars(select(ReviewItem.id).where(ReviewItem.claimed_by == token)
                                    .order_by(ReviewItem.attempts, ReviewItem.id)))


def renew(store: Store, item_id: int, token: str, lease_seconds: float) -> bool:
    """Extend the lease on one row before working on it; False when it was lost to another sync."""
    # Holding the token is enough: a sync that took the row over after our lease ran out wrote its own.
    with store.session() as session:
        result = session.execute(update(ReviewItem)
                                 .where(ReviewItem.id == item_id, ReviewItem.claimed_by == token)
                                 .values(claimed_until=utcnow() + timedelta(seconds=lease_seconds))
                                 .execution_options(synchronize_session=False))
        return result.rowcount == 1


def release(store: Store, item_ids: list[int], token: str) -> None:
    """Give rows back untouched (e.g. the sync is stopping), so the next run takes them at once."""
    if not item_ids:
        return
    with store.session() as session:
        session.execute(update(ReviewItem).where(ReviewItem.id.in_(item_ids), ReviewItem.claimed_by == token)
                        .values(claimed_by=None, claimed_until=None).execution_options(synchronize_session=False))


def mark_failed(store: Store, item_id: int, token: str, error: str) -> None:
    """Record a failed push and release the row for the next run."""
    with store.session() as session:
        session.execute(update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.claimed_by == token)
                        .values(attempts=ReviewItem.attempts + 1, last_error=error[:MAX_ERROR_LENGTH],
                                claimed_by=None, claimed_until=None)
                        .execution_options(synchronize_session=False))


def mark_sent(store: Store, item_id: int, token: str, task_id: int, sent_fields: dict) -> bool:
    """Record that the task holds `sent_fields`; flag the row stale if the data changed meanwhile.

    Returns:
        False when the claim was lost (another sync owns the row now; nothing is written).
    """
    with store.session() as session:
        # Write first: on SQLite this takes the write lock, so the re-read below sees every dispute
        # committed before it and none can slip in between.
        result = session.execute(
            update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.claimed_by == token)
            .values(push_state="sent", ls_task_id=task_id, data_stale=False, last_error=None,
                    attempts=ReviewItem.attempts + 1, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return False
        item = session.get(ReviewItem, item_id)
        if item.sent_at is None:
            item.sent_at = utcnow()
        if current_fields(session, item) != sent_fields:
            item.data_stale = True
    return True


def current_fields(session: Session, item: ReviewItem) -> dict:
    """The task data the item should have now: its check's prediction and the latest dispute."""
    check = session.get(Check, item.check_id)
    dispute = session.scalars(select(Dispute).join(Check, Dispute.check_id == Check.id)
                              .where(Check.sha256 == item.image_sha256)
                              .order_by(Dispute.updated_at.desc(), Dispute.created_at.desc())).first()
    return task_fields(item.ext_id, check.id, item.reason, check.model_version, check.fake_probability,
                       dispute.label if dispute else None, dispute.comment if dispute else None)


def pending_count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(ReviewItem).where(_needs_push())) or 0
