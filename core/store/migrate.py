"""Schema migrations with Alembic, run from code on the store's own engine (no alembic.ini needed).

Several processes may start at once (gunicorn workers, more hosts): on PostgreSQL they queue on an
advisory lock, on SQLite on the database's write lock, so one of them upgrades and the others find
the schema at head.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from core.store.tables import Base

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
INITIAL_REVISION = "0001"
# The tables of INITIAL_REVISION: a database made by create_all before migrations has these.
INITIAL_TABLES = ("checks", "disputes", "review_items", "sync_state", "result_cache", "cached_checks", "api_keys")
# A fixed 64-bit key that every process uses for the migration lock ("DFG_MIGR").
ADVISORY_LOCK_KEY = 0x4446_475F_4D49_4752


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration, built in code. env.py migrates `connection`, or renders SQL for `url`."""
    # Alembic's messages and rendered SQL are kept, not printed: callers show what they choose.
    config = Config(stdout=io.StringIO(), output_buffer=io.StringIO())
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database (or one made before migrations)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision`, adopting one that create_all made before migrations."""
    with _exclusive(engine) as connection:
        config = alembic_config(connection)
        if _made_before_migrations(connection):
            tables = [table for table in Base.metadata.sorted_tables if table.name in INITIAL_TABLES]
            # Tables added before migrations existed were made by create_all at the next start; do that once more.
            Base.metadata.create_all(connection, tables=tables)
            command.stamp(config, INITIAL_REVISION)
        command.upgrade(config, revision)


def upgrade_sql(url: str, revision: str = "head") -> str:
    """The SQL that upgrades an empty database at `url` to `revision`, for a DBA to read or run."""
    config = alembic_config(url=url)
    command.upgrade(config, revision, sql=True)
    return config.output_buffer.getvalue()


def differences(engine: Engine) -> list:
    """What tables.py and the database disagree on, as Alembic's autogenerate sees it; [] when none."""
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata)


def new_revision(engine: Engine, message: str) -> list[Path]:
    """Write a migration from the difference between tables.py and the database (which must be at head)."""
    with engine.begin() as connection:
        scripts = command.revision(alembic_config(connection), message=message, autogenerate=True)
    scripts = scripts if isinstance(scripts, list) else [scripts]
    return [Path(script.path) for script in scripts if script is not None]


def _made_before_migrations(connection: Connection) -> bool:
    inspector = inspect(connection)
    return inspector.has_table("checks") and not inspector.has_table("alembic_version")


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other process's migration runs beside; the upgrade commits with it."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Released at commit. DDL is transactional there, so a waiter sees all of it or none.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        elif engine.dialect.name == "sqlite":
            # The write lock now rather than at the first write: the others wait (busy_timeout) and
            # then read a finished schema. The sqlite3 module keeps DDL inside a transaction we began.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection
