"""Queueing checks for human review: disputes and uncertain verdicts become review items.

Plain functions on a store session; the caller owns the transaction.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store import Check, Dispute, ReviewItem


def ext_id_for(sha256: str) -> str:
    """Our id for an image's Label Studio task: stable, so a retried push finds its task."""
    return f"dfg-{sha256}"


def _item_for(session: Session, sha256: str) -> ReviewItem | None:
    return session.scalars(select(ReviewItem).where(ReviewItem.image_sha256 == sha256)).first()


def uncertain_queued_today(session: Session, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return session.scalar(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.reason == "uncertain", ReviewItem.gold_label.is_(None), ReviewItem.created_at >= midnight)) or 0


def queue_uncertain(session: Session, check: Check, per_day: int) -> ReviewItem | None:
    """Queue an uncertain check unless its image is queued already or today's cap is reached."""
    if _item_for(session, check.sha256) is not None or uncertain_queued_today(session) >= per_day:
        return None
    item = ReviewItem(image_sha256=check.sha256, ext_id=ext_id_for(check.sha256), check_id=check.id,
                      reason="uncertain")
    session.add(item)
    return item


def record_dispute(session: Session, check: Check, client: str, label: str, comment: str | None) -> tuple[Dispute, ReviewItem]:
    """Store a dispute (a repeat by the same client updates the first) and queue the image for review."""
    dispute = session.scalars(select(Dispute).where(Dispute.check_id == check.id, Dispute.client == client)).first()
    if dispute is None:
        dispute = Dispute(id=str(uuid.uuid4()), check_id=check.id, client=client, label=label, comment=comment)
        session.add(dispute)
    elif (dispute.label, dispute.comment) != (label, comment):
        dispute.label, dispute.comment = label, comment
    item = _item_for(session, check.sha256)
    if item is None:
        item = ReviewItem(image_sha256=check.sha256, ext_id=ext_id_for(check.sha256), check_id=check.id,
                          reason="disputed")
        session.add(item)
    elif item.reason != "disputed" or item.push_state == "sent":
        # Reviewers should see the user's label and comment: re-send the task data.
        item.reason = "disputed"
        item.data_stale = item.push_state == "sent"
    session.flush()
    return dispute, item


def review_for(session: Session, check: Check, client: str) -> tuple[Dispute | None, ReviewItem | None]:
    """The client's dispute of a check and the review of its image, if either concerns this check."""
    dispute = session.scalars(select(Dispute).where(Dispute.check_id == check.id, Dispute.client == client)).first()
    item = _item_for(session, check.sha256)
    if item is not None and dispute is None and item.check_id != check.id:
        item = None  # another user's review of the same picture is not this check's business
    return dispute, item


def dispute_json(dispute: Dispute | None, item: ReviewItem | None) -> dict | None:
    if dispute is None:
        return None
    return {"id": dispute.id, "label": dispute.label, "comment": dispute.comment,
            "status": item.status if item else "queued",
            "created_at": dispute.created_at.isoformat()}


def review_json(item: ReviewItem | None) -> dict | None:
    if item is None:
        return None
    return {"status": item.status, "label": item.label, "reason": item.reason,
            "reviewers": item.reviewer_count, "used_in_model": item.used_in_model,
            "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None}
