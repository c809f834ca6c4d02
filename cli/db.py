"""`deepfake-guard db upgrade | current | revision`: the store's schema, migrated with Alembic."""
from __future__ import annotations

import click

from core.settings import Settings
from core.store import Store, migrate


def _store() -> Store:
    settings = Settings()
    folder = settings.instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return Store.for_instance(settings.database_url, folder)


@click.group("db")
def db() -> None:
    """The store's schema (DFG_DATABASE_URL, or SQLite in the instance folder). Servers upgrade it at start too."""


@db.command()
@click.option("--sql", is_flag=True, help="Print the SQL that builds the schema in an empty database; change nothing.")
def upgrade(sql: bool) -> None:
    """Migrate the store to the newest schema."""
    store = _store()
    if sql:
        click.echo(migrate.upgrade_sql(store.url))
        return
    before = migrate.current_revision(store.engine)
    store.migrate_to_latest()
    after = migrate.current_revision(store.engine)
    click.echo(f"{_safe_url(store)}: at {after}" + (f" (was {before or 'empty'})" if before != after else " already"))


@db.command()
def current() -> None:
    """The store's schema revision and the newest one this version ships."""
    store = _store()
    revision, head = migrate.current_revision(store.engine), migrate.head_revision()
    state = "up to date" if revision == head else "run `deepfake-guard db upgrade` (servers do it at start)"
    click.echo(f"{_safe_url(store)}: at {revision or 'no revision'}, newest {head}: {state}")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes, e.g. 'add checks.user_agent'.")
def revision(message: str) -> None:
    """For developers: write a migration for what tables.py changed (the store must be at head)."""
    store = _store()
    if migrate.current_revision(store.engine) != migrate.head_revision():
        raise click.ClickException("the store is not at the newest revision; run `deepfake-guard db upgrade` first")
    if not migrate.differences(store.engine):
        raise click.ClickException("tables.py and the store agree: there is nothing to migrate")
    for path in migrate.new_revision(store.engine, message):
        click.echo(f"wrote {path}; read it before committing (autogenerate misses renames)")


def _safe_url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)
