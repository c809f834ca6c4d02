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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.registry import DEFAULT_MODEL_DIR, RegistryError
from core.served_model import ModelError, ModelInfo
from core.settings import Settings
from core.shared_models import open_registry
from core.store import Check, Dispute, ReviewItem, Store
from core.store.tables import utcnow
from feedback.tasks import ModelRule, Prediction, ReviewProgress, ReviewRequest, VideoFrame, task_fields

MAX_ERROR_LENGTH = 2000
OTHER_LABEL = {"real": "fake", "fake": "real"}


def _no_rule(version: str) -> ModelRule | None:
    return None


@dataclass(frozen=True)
class FieldContext:
    """What task data needs besides the store: each model version's threshold, and the most reviews."""

    rule_of: Callable[[str], ModelRule | None] = _no_rule
    max_reviews: int = Settings.model_fields["review_max_reviews"].default

    @classmethod
    def for_settings(cls, settings: Settings) -> FieldContext:
        folder_of = model_folders(settings)

        @cache
        def rule_of(version: str) -> ModelRule | None:
            folder = folder_of(version)
            if folder is None:
                return None
            info = ModelInfo.read(folder)
            return ModelRule(info.threshold, info.uncertain_band)
        return cls(rule_of, settings.review_max_reviews)


def model_folders(settings: Settings) -> Callable[[str], Path | None]:
    """Version → the folder of that model on this machine: the registry's, else a pinned or the shipped
    model's (None when none of them is that version)."""
    registry = open_registry(settings)
    pinned = [Path(settings.model_dir)] if settings.model_dir else []

    @cache
    def folder_of(version: str) -> Path | None:
        folders = []
        try:
            folders.append(registry.folder(version))
        except RegistryError:
            pass
        for folder in [*folders, *pinned, DEFAULT_MODEL_DIR]:
            try:
                if ModelInfo.read(folder).version == version:
                    return Path(folder)
            except ModelError:
                continue
        return None
    return folder_of


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


def mark_sent(store: Store, item_id: int, token: str, task_id: int, sent_fields: dict,
              context: FieldContext = FieldContext()) -> bool:
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
        if current_fields(session, item, context) != sent_fields:
            item.data_stale = True
    return True


def review_progress(item: ReviewItem, context: FieldContext = FieldContext()) -> ReviewProgress:
    """The item's answers so far, as the task states them and the sync re-opens tasks by."""
    votes = item.votes if isinstance(item.votes, dict) else {}
    return ReviewProgress(votes.get("counts") or {}, item.reviewer_count or 0, bool(item.undecided),
                          context.max_reviews, item.label, bool(votes.get("second_opinion")))


def video_frame(session: Session, check: Check) -> VideoFrame | None:
    """A video frame's time and the scores of the frames checked with it (same group, same client)."""
    if check.video_time is None:
        return None
    frames = []
    if check.video_group:
        frames = session.execute(select(Check.video_time, Check.fake_probability)
                                 .where(Check.video_group == check.video_group, Check.client == check.client)
                                 .order_by(Check.video_time, Check.created_at).limit(64)).all()
    unique = dict((float(time), round(float(score), 4)) for time, score in frames)  # a repeated time: its last check
    return VideoFrame(check.video_time, tuple(sorted(unique.items())))


def current_fields(session: Session, item: ReviewItem, context: FieldContext = FieldContext()) -> dict:
    """The task data the item should have now: its check's prediction, the latest dispute and the
    reviews so far."""
    check = session.get(Check, item.check_id)
    dispute = session.scalars(select(Dispute).join(Check, Dispute.check_id == Check.id)
                              .where(Check.sha256 == item.image_sha256)
                              .order_by(Dispute.updated_at.desc(), Dispute.created_at.desc())).first()
    disputed = session.get(Check, dispute.check_id) if dispute else None
    prediction = Prediction(check.verdict, check.fake_probability, check.model_version, decided_by=check.reason,
                            faces=check.faces or [], scope=check.scope, rule=context.rule_of(check.model_version),
                            provenance=check.provenance)
    user_label = dispute.label if dispute else None
    if item.gold_label is not None and dispute is None and item.reason == "disputed":
        user_label = OTHER_LABEL.get(check.verdict)   # a gold task reads like a dispute of the model's verdict
    request = ReviewRequest(item.reason, user_label=user_label,
                            user_comment=dispute.comment if dispute else None,
                            page_url=(disputed.page_url if disputed else None) or check.page_url,
                            source_url=(disputed.source_url if disputed else None) or check.source_url,
                            progress=review_progress(item, context), video=video_frame(session, disputed or check))
    return task_fields(item.ext_id, check.id, prediction, request)


def pending_count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(ReviewItem).where(_needs_push())) or 0
