"""review_items.gold_label: the known answer of a gold task (an image mixed into the review queue to measure
reviewers: feedback/gold.py); NULL for every image users sent. Gold items wait in push_state "held" until
the sync releases them into the queue.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offline = op.get_context().as_sql
    if not offline and "gold_label" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("review_items")}:
        return   # a database adopted from before migrations, made by tables.py with the column (core/store/migrate.py)
    op.add_column("review_items", sa.Column("gold_label", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("review_items", "gold_label")
