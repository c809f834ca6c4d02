"""The store: one SQLAlchemy engine per app, sessions per unit of work."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import Flask, current_app
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .tables import Base, Check, Dispute, ReviewItem, SyncState

__all__ = ["Store", "Check", "Dispute", "ReviewItem", "SyncState", "store"]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run beside a writer; busy_timeout waits for a lock instead of failing;
    # synchronous=FULL makes a commit survive power loss, not only a crash (a 202 is a promise).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """The database behind the server, the CLI and the worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_instance(cls, database_url: str | None, instance_dir: Path) -> "Store":
        return cls(database_url or f"sqlite:///{Path(instance_dir) / 'deepfake-guard.sqlite3'}")

    def create_schema(self) -> None:
        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def store() -> Store:
    return current_app.extensions["store"]


def init_app(app: Flask, database_url: str | None) -> None:
    instance = Path(app.instance_path)
    app.extensions["store"] = created = Store.for_instance(database_url, instance)
    created.create_schema()
