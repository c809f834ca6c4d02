"""The store's tables (SQLAlchemy 2.x). SQLite by default, PostgreSQL by URL."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Check(Base):
    """One image check and its outcome. The image itself is not stored here."""

    __tablename__ = "checks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)          # key id, never the key
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    fake_probability: Mapped[float] = mapped_column(Float)
    faces: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(128), index=True)
    elapsed_ms: Mapped[float] = mapped_column(Float)
    page_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
