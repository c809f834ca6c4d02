"""review_items.undecided: an item that got the most reviews allowed and no label ("Can't tell", ties).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offline = op.get_context().as_sql
    if not offline and "undecided" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("review_items")}:
        return   # a database adopted from before migrations, made by tables.py with the column (core/store/migrate.py)
    # A plain ADD COLUMN with a default works on SQLite and PostgreSQL alike (no table copy).
    op.add_column("review_items", sa.Column("undecided", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("review_items", "undecided")   # SQLite 3.35+ drops a column in place
