"""The store's migrations on SQLite and PostgreSQL: head is exactly tables.py, old databases are
adopted, and processes that start together migrate once."""
from __future__ import annotations

import multiprocessing
import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, text

from cli import main
from core.store import Check, JobState, Store, migrate
from core.store.tables import Base


@pytest.fixture
def database_url(each_database_url):
    return each_database_url


def _table_names(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_head_on_an_empty_database_is_exactly_the_tables_of_tables_py(database_url):
    store = Store(database_url)
    assert migrate.current_revision(store.engine) is None
    store.migrate_to_latest()
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    assert _table_names(store) == set(Base.metadata.tables) | {"alembic_version"}
    assert migrate.differences(store.engine) == []       # columns, types, indexes, constraints
    with store.engine.begin() as connection:               # and the way back leaves nothing behind
        command.downgrade(migrate.alembic_config(connection), "base")
    assert _table_names(store) == {"alembic_version"}


def test_a_database_made_before_migrations_is_adopted_with_its_rows(database_url):
    store = Store(database_url)
    # before keys existed, and while job_state was still called sync_state
    older = [table for table in Base.metadata.sorted_tables if table.name not in ("api_keys", "job_state")]
    Base.metadata.create_all(store.engine, tables=older)
    legacy = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    sa.Table("sync_state", legacy, sa.Column("name", sa.String(80), primary_key=True),
             sa.Column("value", sa.Text, nullable=False), sa.Column("updated_at", sa.DateTime(timezone=True)))
    legacy.create_all(store.engine)
    with store.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO sync_state (name, value) VALUES ('pull', 'kept')"))
    with store.session() as session:
        session.add(Check(id="kept", client="k", sha256="0" * 64, width=1, height=1, format="jpeg", verdict="real",
                          fake_probability=0.1, faces=[], scope="no_face", model_version="v1", elapsed_ms=1.0))
    store.migrate_to_latest()
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    assert {"api_keys", "job_state"} <= set(_table_names(store)) and "sync_state" not in _table_names(store)
    with store.session() as session:
        assert session.get(JobState, "pull").value == "kept"
    with store.session() as session:
        assert session.get(Check, "kept").verdict == "real"


def _start(url: str, everyone_ready) -> None:
    store = Store(url)
    everyone_ready.wait(timeout=120)   # imports done: all of them migrate at the same moment
    store.migrate_to_latest()


def test_processes_that_start_together_migrate_once(database_url):
    context = multiprocessing.get_context("spawn")
    everyone_ready = context.Barrier(4)
    starters = [context.Process(target=_start, args=(database_url, everyone_ready)) for _ in range(4)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=120)
    assert [starter.exitcode for starter in starters] == [0, 0, 0, 0]
    store = Store(database_url)
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(text("alembic_version"))) == 1


def test_db_commands_say_where_the_store_is_and_upgrade_it(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("DFG_DATABASE_URL", database_url)
    runner = CliRunner()
    before = runner.invoke(main, ["db", "current"], catch_exceptions=False).output
    assert "no revision" in before and "db upgrade" in before
    upgraded = runner.invoke(main, ["db", "upgrade"], catch_exceptions=False).output
    assert f"at {migrate.head_revision()} (was empty)" in upgraded
    assert "up to date" in runner.invoke(main, ["db", "current"], catch_exceptions=False).output
    refused = runner.invoke(main, ["db", "revision", "-m", "nothing changed"])
    assert refused.exit_code != 0 and "nothing to migrate" in refused.output


def test_upgrade_sql_builds_every_table_without_a_database():
    script = migrate.upgrade_sql(f"postgresql+psycopg://nobody@127.0.0.1:9/{uuid.uuid4().hex}")
    for table in Base.metadata.tables:
        assert f"CREATE TABLE {table} " in script or f"RENAME TO {table}" in script, table
