"""Outbox claims on real SQLite and PostgreSQL: one owner per row, leases expire, writes need the claim."""
from __future__ import annotations

import multiprocessing
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.outcomes import apply_annotation, apply_tasks, remove_annotations
from core.resolution import ReviewRule
from core.store import Check, Dispute, ReviewItem, Store
from core.store.tables import utcnow
from feedback import outbox


@pytest.fixture
def database_url(each_database_url):
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


def _store(url: str, items: int) -> Store:
    store = Store(url)
    store.migrate_to_latest()
    with store.session() as session:
        for index in range(items):
            sha = f"{index:064x}"
            check = Check(id=str(uuid.uuid4()), client="k", sha256=sha, width=10, height=10, format="jpeg",
                          verdict="uncertain", fake_probability=0.5, faces=[], scope="no_face",
                          model_version="v1", elapsed_ms=1.0)
            session.add(check)
            session.flush()
            session.add(ReviewItem(image_sha256=sha, ext_id=f"dfg-{sha}", check_id=check.id, reason="uncertain"))
    return store


def _item(store: Store, item_id: int) -> ReviewItem:
    with store.session() as session:
        return session.get(ReviewItem, item_id)


def test_a_claimed_row_is_nobody_elses_until_the_lease_ends(database_url):
    store = _store(database_url, 3)
    first = outbox.claim(store, "a", limit=2, lease_seconds=60)
    assert len(first) == 2
    assert outbox.claim(store, "b", limit=10, lease_seconds=60) == [3]      # only the free one
    assert outbox.claim(store, "c", limit=10, lease_seconds=60) == []
    later = utcnow() + timedelta(seconds=61)
    assert outbox.claim(store, "d", limit=10, lease_seconds=60, now=later) == [1, 2, 3]  # all leases ran out
    # The old holders lost their rows: they can neither renew nor mark them sent.
    assert not outbox.renew(store, 1, "a", 60)
    assert not outbox.mark_sent(store, 1, "a", task_id=5, sent_fields={})
    assert _item(store, 1).push_state == "pending" and _item(store, 1).claimed_by == "d"


def test_sent_rows_are_not_claimed_again_unless_stale(database_url):
    store = _store(database_url, 2)
    [one, two] = outbox.claim(store, "a", limit=10, lease_seconds=60)
    with store.session() as session:
        fields = outbox.current_fields(session, session.get(ReviewItem, one))
    assert outbox.mark_sent(store, one, "a", task_id=11, sent_fields=fields)
    outbox.mark_failed(store, two, "a", "ConnectError: refused")
    sent, failed = _item(store, one), _item(store, two)
    assert (sent.push_state, sent.ls_task_id, sent.data_stale, sent.claimed_by) == ("sent", 11, False, None)
    assert sent.sent_at is not None and sent.attempts == 1
    assert (failed.push_state, failed.attempts, failed.last_error, failed.claimed_by) == \
        ("pending", 1, "ConnectError: refused", None)
    assert outbox.claim(store, "b", limit=10, lease_seconds=60) == [two]   # released at once for the next run
    with store.session() as session:
        session.get(ReviewItem, one).data_stale = True
    assert outbox.claim(store, "c", limit=10, lease_seconds=60) == [one]
    outbox.release(store, [one], "c")
    assert _item(store, one).claimed_by is None


def test_data_changed_during_a_push_marks_the_row_stale(database_url):
    store = _store(database_url, 1)
    [item_id] = outbox.claim(store, "a", limit=1, lease_seconds=60)
    with store.session() as session:
        item = session.get(ReviewItem, item_id)
        sent_fields = outbox.current_fields(session, item)
    with store.session() as session:   # a user disputes the image while the push is under way
        item = session.get(ReviewItem, item_id)
        item.reason = "disputed"
        session.add(Dispute(id="d1", check_id=item.check_id, client="k", label="fake", comment="edited"))
    assert outbox.mark_sent(store, item_id, "a", task_id=3, sent_fields=sent_fields)
    assert _item(store, item_id).data_stale          # the next sync re-sends the task data


def _claim_all(url: str, token: str, queue) -> None:
    store = Store(url)
    mine = []
    while batch := outbox.claim(store, token, limit=7, lease_seconds=300):
        mine.extend(batch)
        for item_id in batch:
            with store.session() as session:
                fields = outbox.current_fields(session, session.get(ReviewItem, item_id))
            assert outbox.mark_sent(store, item_id, token, task_id=item_id, sent_fields=fields)
    queue.put(mine)


def test_concurrent_claimers_in_separate_processes_never_share_a_row(database_url):
    _store(database_url, 300)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_claim_all, args=(database_url, f"w{n}", queue)) for n in range(4)]
    for worker in workers:
        worker.start()
    claimed = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    every = [item_id for ids in claimed for item_id in ids]
    assert sorted(every) == list(range(1, 301))      # each row exactly once, none lost
    assert sum(1 for ids in claimed if ids) >= 2     # they really ran side by side
    print(f"\nclaims per process: {[len(ids) for ids in claimed]}")


RULE = ReviewRule(max_reviews=3)


def _vote(annotation_id: int, choice: str, by: int = 1) -> dict:
    return {"id": annotation_id, "was_cancelled": False, "completed_by": by,
            "result": [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [choice]}}]}


def test_outcomes_from_webhook_and_pull_meet_in_one_record(database_url):
    store = _store(database_url, 1)
    ext_id = f"dfg-{0:064x}"
    with store.session() as session:
        item, relabeled = apply_annotation(session, ext_id, 10, _vote(1, "Fake"), RULE)
        assert relabeled and item.label == "fake" and item.resolved_at is not None
    with store.session() as session:   # a pull that sees only the duplicate task 11 keeps task 10's vote
        item, relabeled = apply_tasks(session, ext_id, {11: [_vote(2, "Real"), _vote(3, "Real")]}, RULE)
        assert relabeled and item.label == "real" and item.reviewer_count == 3
    with store.session() as session:   # task 11's annotations deleted
        assert remove_annotations(session, [2, 3], RULE) == 1
    with store.session() as session:
        item = session.scalars(select(ReviewItem)).one()
        assert item.label == "fake" and item.votes["counts"]["fake"] == 1
        assert apply_annotation(session, "dfg-unknown", 1, _vote(9, "Real"), RULE) == (None, False)


@pytest.mark.parametrize("annotation_ids", [[12], [2]])
def test_removing_unknown_annotations_changes_nothing(database_url, annotation_ids):
    store = _store(database_url, 1)
    with store.session() as session:
        apply_annotation(session, f"dfg-{0:064x}", 10, _vote(1, "Fake"), RULE)
        assert remove_annotations(session, annotation_ids, RULE) == 0


def test_cant_tell_asks_for_another_review_and_the_last_one_closes_it_undecided(database_url):
    store = _store(database_url, 1)
    ext_id = f"dfg-{0:064x}"
    with store.session() as session:
        session.get(ReviewItem, 1).push_state = "sent"
    with store.session() as session:
        item, relabeled = apply_annotation(session, ext_id, 10, _vote(1, "Can't tell", by=1), RULE)
        assert not relabeled and item.status == "in_review" and item.data_stale   # re-sent for reviewer 2
        item.data_stale = False
    with store.session() as session:
        item, _ = apply_annotation(session, ext_id, 10, _vote(2, "Can't tell", by=2), RULE)
        assert item.status == "in_review" and item.data_stale and item.reviewer_count == 2
        item.data_stale = False
    with store.session() as session:
        item, relabeled = apply_annotation(session, ext_id, 10, _vote(3, "Can't tell", by=3), RULE)
        assert not relabeled and item.status == "undecided" and item.label is None and item.data_stale
    with store.session() as session:   # a deleted answer reopens it
        remove_annotations(session, [3], RULE)
        assert session.get(ReviewItem, 1).status == "in_review"
    with store.session() as session:   # a clear answer after "Can't tell" decides
        item, relabeled = apply_annotation(session, ext_id, 10, _vote(4, "Fake", by=3), RULE)
        assert relabeled and item.status == "relabeled" and item.label == "fake" and not item.undecided
        assert item.votes["annotations"]["4"] == {"task": 10, "vote": "fake", "by": 3}
