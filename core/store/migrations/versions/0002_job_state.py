"""Rename sync_state to job_state: besides the sync's pull watermark it holds the retraining lease and
the last retraining run, so the name says what it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offline = op.get_context().as_sql   # `deepfake-guard db upgrade --sql`: SQL for the usual database
    inspector = None if offline else sa.inspect(op.get_bind())
    if inspector is not None and "sync_state" not in inspector.get_table_names():
        # a database adopted from before migrations that never had the table (core/store/migrate.py)
        op.create_table("job_state", sa.Column("name", sa.String(length=80), nullable=False),
                        sa.Column("value", sa.Text(), nullable=False),
                        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
                        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_state")))
        return
    primary_key = "pk_sync_state" if inspector is None else inspector.get_pk_constraint("sync_state").get("name")
    op.rename_table("sync_state", "job_state")
    # SQLite keeps no separate constraint name to rename
    if op.get_context().dialect.name == "postgresql" and primary_key and primary_key != "pk_job_state":
        op.execute(f'ALTER TABLE job_state RENAME CONSTRAINT "{primary_key}" TO pk_job_state')


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE job_state RENAME CONSTRAINT pk_job_state TO pk_sync_state")
    op.rename_table("job_state", "sync_state")
