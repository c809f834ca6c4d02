"""The store: one SQLAlchemy engine per app, sessions per unit of work."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.store import migrate
from core.store.tables import (
    ApiKey,
    CachedCheck,
    Check,
    Dispute,
    Enrollment,
    JobState,
    ModelChampion,
    ModelEvent,
    ModelVersion,
    ResultCacheEntry,
    ReviewItem,
)

T = TypeVar("T")
UNIQUE_RACE_ATTEMPTS = 3
SQLITE_BUSY_SECONDS = 15.0

__all__ = ["Store", "ApiKey", "CachedCheck", "Check", "Dispute", "Enrollment", "ResultCacheEntry", "ReviewItem",
           "JobState", "ModelChampion", "ModelEvent", "ModelVersion"]


def _sqlite_pragmas(dbapi_connection, _record, synchronous: str = "FULL") -> None:
    # busy_timeout waits for a lock instead of failing; WAL lets readers run beside a writer;
    # synchronous=FULL makes a commit survive power loss, not only a crash (a 202 is a promise).
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    _switch_to_wal(cursor)
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """Put the database in WAL mode (a no-op once it is: the mode is kept in the file).

    The first switch needs the database's exclusive lock. Processes that open a new database at once
    (gunicorn workers, the CLI) got "database is locked" here in CI (2 of 4 started together): busy_timeout
    was set only after this statement, and SQLite also answers "locked" at once, without waiting,
    where waiting could deadlock. So busy_timeout comes first and the switch is retried as long.
    """
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_fast_pragmas(dbapi_connection, record) -> None:
    _sqlite_pragmas(dbapi_connection, record, synchronous="NORMAL")


class Store:
    """The database behind the server, the CLI and the worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._fast_sessions = self._sessions
        if self.engine.dialect.name == "sqlite":
            # A second pool whose commits skip the fsync (4 ms here): check rows, see session().
            fast_engine = create_engine(url, pool_pre_ping=True)
            event.listen(fast_engine, "connect", _sqlite_fast_pragmas)
            self._fast_sessions = sessionmaker(fast_engine, expire_on_commit=False)

    @classmethod
    def for_instance(cls, database_url: str | None, instance_dir: Path) -> Store:
        return cls(database_url or f"sqlite:///{Path(instance_dir) / 'deepfake-guard.sqlite3'}")

    @classmethod
    def for_settings(cls, settings) -> Store:
        """The server's store opened outside a Flask app (CLI, worker), migrated to the newest schema."""
        folder = settings.instance_path()
        folder.mkdir(parents=True, exist_ok=True)
        opened = cls.for_instance(settings.database_url, folder)
        opened.migrate_to_latest()
        return opened

    def migrate_to_latest(self) -> None:
        """Migrate the database to the newest schema (core/store/migrations), as every process does at start."""
        try:
            migrate.upgrade(self.engine)
        except OperationalError:
            if self.engine.dialect.name != "sqlite":
                raise
            # Another process's upgrade held the write lock past busy_timeout; by now it is done.
            migrate.upgrade(self.engine)

    @contextmanager
    def session(self, durable: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error.

        Args:
            durable: False for writes that may be lost on power failure (not on a crash): the
                commit does not wait for the disk. Check rows use it; a later durable commit (a
                dispute) makes every earlier commit durable too, since both go through one log
                (SQLite's WAL, PostgreSQL's WAL), so a stored dispute never lacks its check.
        """
        sessions = self._sessions if durable else self._fast_sessions
        with sessions.begin() as session:
            if not durable and self.engine.dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit = off"))
            yield session

    def run(self, work: Callable[[Session], T], durable: bool = True) -> T:
        """`work(session)` in a transaction, run again when a concurrent writer won a race for a unique row.

        Two requests that look up a row (a client's dispute of a check, the review item of an
        image), find none and both insert it: the second commit fails with IntegrityError. Run
        again in a new transaction, `work` finds the winner's row and updates it instead.
        """
        for _ in range(UNIQUE_RACE_ATTEMPTS - 1):
            try:
                with self.session(durable) as session:
                    return work(session)
            except IntegrityError:
                continue  # lost the race: a new transaction sees the winner's row
        with self.session(durable) as session:  # the last attempt: an IntegrityError now surfaces
            return work(session)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
