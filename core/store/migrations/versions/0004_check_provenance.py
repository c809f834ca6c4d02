"""checks.reason and checks.provenance: what Content Credentials and XMP declared, and whether that
decided the verdict ("declared") or the model did ("model").

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offline = op.get_context().as_sql
    existing = set() if offline else {c["name"] for c in sa.inspect(op.get_bind()).get_columns("checks")}
    # a database adopted from before migrations may have them already (core/store/migrate.py)
    if "reason" not in existing:
        op.add_column("checks", sa.Column("reason", sa.String(length=16), nullable=False, server_default="model"))
    if "provenance" not in existing:
        op.add_column("checks", sa.Column("provenance", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("checks", "provenance")
    op.drop_column("checks", "reason")
