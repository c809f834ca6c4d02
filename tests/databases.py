"""The store's database for a test: a SQLite file, or a fresh PostgreSQL database of its own.

PostgreSQL is used when DFG_TEST_POSTGRES_URL names a server whose user may create databases
(scripts/test.sh starts one with scripts/postgres.sh); each test gets a new database, dropped after.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL_VARIABLE = "DFG_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database on `backend` ("sqlite" or "postgresql"); skips without PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{Path(folder) / 'store.sqlite3'}"
        return
    admin_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VARIABLE}: run scripts/postgres.sh start, then "
                    f"export {POSTGRES_URL_VARIABLE}=\"$(scripts/postgres.sh url)\" (scripts/test.sh does both)")
    name = f"dfg_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE ends the connections that the test's engines still hold in their pools.
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
