"""Review outcomes on review items, from annotations the webhook or the pull brings back.

`ReviewItem.votes` keeps every annotation we know of, with its task, so that the webhook (one
annotation) and the pull (all annotations of some tasks) update the same record, and the votes of
two tasks for one ext_id (a duplicate in Label Studio) are merged:
`{"counts": {"real": n, ...}, "annotations": {"<annotation id>": {"task": id, "vote": "real", "by": user id}}}`,
plus `"second_opinion": true` while its answers go against a confident model and wait for a second reviewer.

An item that has answers but no label ("Can't tell", a tie, or one label against a confident model:
core/resolution.py's ReviewRule) asks for another reviewer: it is flagged `data_stale`, so the next sync
re-sends its task for one more review (feedback/sync.py). After `max_reviews` answers without a label it
is closed `undecided`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from core.resolution import ReviewRule, resolve, vote_of
from core.reviewers import ReviewerRecord, reviewer_records
from core.store import Check, ReviewItem
from core.store.tables import utcnow

# The header in which Label Studio sends the webhook's shared secret (set by feedback.labelstudio, checked by
# server.api.labelstudio): one definition here, which neither side's heavy imports come with.
WEBHOOK_SECRET_HEADER = "X-DFG-Webhook-Secret"


def item_for(session: Session, ext_id: str) -> ReviewItem | None:
    return session.scalars(select(ReviewItem).where(ReviewItem.ext_id == ext_id)).first()


def annotation_entries(item: ReviewItem) -> dict[str, dict]:
    return annotation_entries_of(item.votes)


def annotation_entries_of(votes: object) -> dict[str, dict]:
    """The annotation entries of an item's `votes` column (empty when it holds none)."""
    annotations = votes.get("annotations") if isinstance(votes, dict) else None
    return dict(annotations) if isinstance(annotations, dict) else {}


def _entry(task_id: int, annotation: Mapping) -> dict:
    author = annotation.get("completed_by")
    author = author.get("id") if isinstance(author, Mapping) else author
    return {"task": task_id, "vote": vote_of(annotation), "by": author if isinstance(author, int) else None}


def _save(session: Session, item: ReviewItem, entries: dict[str, dict], now: datetime, rule: ReviewRule) -> bool:
    """Store the votes, the resolved label and whether the item is undecided.

    Returns:
        True when the item got a new label.
    """
    check = session.get(Check, item.check_id)
    resolution = resolve((entry.get("vote") for entry in entries.values()),
                         check.fake_probability if check is not None else None, rule)
    progress_before = (item.reviewer_count, bool(item.undecided))
    item.votes = {"counts": resolution.counts, "annotations": entries,
                  **({"second_opinion": True} if resolution.second_opinion else {})}
    item.reviewer_count = resolution.reviewer_count
    item.undecided = resolution.undecided(rule.max_reviews)
    if resolution.label is None and item.push_state == "sent" \
            and (item.reviewer_count, item.undecided) != progress_before:
        item.data_stale = True   # the task must ask for another review, or say it is closed
    if resolution.label == item.label:
        return False
    item.label = resolution.label
    item.resolved_at = now if resolution.label else None
    return resolution.label is not None


def apply_annotation(session: Session, ext_id: str, task_id: int, annotation: Mapping, rule: ReviewRule,
                     now: datetime | None = None) -> tuple[ReviewItem | None, bool]:
    """Add or replace one annotation (webhook ANNOTATION_CREATED/UPDATED).

    Returns:
        (item or None when the ext_id is not ours, whether the item was relabeled).
    """
    item = item_for(session, ext_id)
    if item is None:
        return None, False
    entries = annotation_entries(item)
    entries[str(annotation["id"])] = _entry(task_id, annotation)
    return item, _save(session, item, entries, now or utcnow(), rule)


def apply_tasks(session: Session, ext_id: str, tasks: Mapping[int, Iterable[Mapping]], rule: ReviewRule,
                now: datetime | None = None) -> tuple[ReviewItem | None, bool]:
    """Replace what we know of these tasks' annotations with their full current list (pull).

    Annotations of other tasks for the same ext_id are kept: an incremental pull may see only one
    of two duplicate tasks.
    """
    item = item_for(session, ext_id)
    if item is None:
        return None, False
    entries = {key: entry for key, entry in annotation_entries(item).items() if entry.get("task") not in tasks}
    for task_id, task_annotations in tasks.items():
        for annotation in task_annotations:
            entries[str(annotation["id"])] = _entry(task_id, annotation)
    if entries == annotation_entries(item):
        return item, False
    return item, _save(session, item, entries, now or utcnow(), rule)


def remove_annotations(session: Session, annotation_ids: Iterable[int], rule: ReviewRule,
                       now: datetime | None = None) -> int:
    """Forget deleted annotations (webhook ANNOTATIONS_DELETED names only their ids). Returns items changed."""
    keys = {str(annotation_id) for annotation_id in annotation_ids}
    # A text match narrows the rows on SQLite and PostgreSQL alike; the dict check below decides.
    matches = or_(*(cast(ReviewItem.votes, String).like(f'%"{key}":%') for key in keys))
    changed = 0
    for item in session.scalars(select(ReviewItem).where(matches)) if keys else []:
        entries = annotation_entries(item)
        kept = {key: entry for key, entry in entries.items() if key not in keys}
        if kept != entries:
            _save(session, item, kept, now or utcnow(), rule)
            changed += 1
    return changed


def reviewer_records_in(session: Session) -> dict[int, ReviewerRecord]:
    """Every reviewer's gold answers and labels, from the annotations review items keep (core/reviewers.py)."""
    rows = session.execute(select(ReviewItem.gold_label, ReviewItem.votes).where(ReviewItem.reviewer_count > 0))
    return reviewer_records((gold_label, annotation_entries_of(votes)) for gold_label, votes in rows)
