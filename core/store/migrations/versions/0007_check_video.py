"""checks.video_time and checks.video_group: a check of a video frame records its time in the video and
the client's id for the frames of one video check (NULL for images).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offline = op.get_context().as_sql
    if not offline and "video_group" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("checks")}:
        return   # a database adopted from before migrations, made by tables.py with the columns (core/store/migrate.py)
    op.add_column("checks", sa.Column("video_time", sa.Float(), nullable=True))
    op.add_column("checks", sa.Column("video_group", sa.String(length=64), nullable=True))
    op.create_index("ix_checks_video_group", "checks", ["video_group"])


def downgrade() -> None:
    op.drop_index("ix_checks_video_group", table_name="checks")
    op.drop_column("checks", "video_group")
    op.drop_column("checks", "video_time")
