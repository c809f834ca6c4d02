"""Alembic's entry point: migrates the connection that core/store/migrate.py hands over.

Without one (`deepfake-guard db upgrade --sql`) it renders the SQL for the URL instead.
"""
from alembic import context

from core.store.tables import Base


def run_migrations() -> None:
    config = context.config
    # render_as_batch: on SQLite an ALTER is done by rebuilding the table; PostgreSQL alters in place.
    options = {"target_metadata": Base.metadata, "render_as_batch": True, "compare_type": True}
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **options)
    else:
        connection = config.attributes.get("connection")
        if connection is None:
            raise RuntimeError("migrations run from code: `deepfake-guard db upgrade`, not the alembic command")
        context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
