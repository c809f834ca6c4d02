"""enrollments: one-time codes that `deepfake-guard keys enroll` makes and the extension's options page
redeems for a per-person API key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offline = op.get_context().as_sql
    if not offline and "enrollments" in sa.inspect(op.get_bind()).get_table_names():
        return   # a database adopted from before migrations, made by tables.py with the table
    op.create_table("enrollments",
                    sa.Column("code_sha256", sa.String(length=64), nullable=False),
                    sa.Column("name", sa.String(length=100), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("key_id", sa.String(length=16), nullable=True),
                    sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_enrollments")))


def downgrade() -> None:
    op.drop_table("enrollments")
