"""The retraining lock: a lease in the store's job_state table (real SQLite file)."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from core.store import Store
from feedback.lease import Lease


def _store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    store.migrate_to_latest()
    return store


def test_one_holder_until_release_or_expiry(tmp_path):
    store = _store(tmp_path)
    first, second = Lease(store, "retrain", 60, owner="a"), Lease(store, "retrain", 60, owner="b")
    assert first.acquire() and not second.acquire()
    assert second.holder()["owner"] == "a"
    assert first.renew()
    first.release()
    assert second.acquire() and second.holder()["owner"] == "b"
    # b dies without releasing: after the lease runs out, a takes over and b's renewal fails.
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert first.acquire(now=later)
    assert not second.renew() and not second.held
    second.release()                      # a lost lease is not released from under its new holder
    assert first.held and first.holder()["owner"] == "a"


def test_many_takers_at_once_get_one_lease(tmp_path):
    store = _store(tmp_path)
    leases = [Lease(store, "retrain", 60, owner=str(i)) for i in range(6)]
    start = threading.Barrier(len(leases))
    won: list[str] = []

    def take(lease: Lease) -> None:
        start.wait()
        if lease.acquire():
            won.append(lease.owner)

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
