"""The store's tables (SQLAlchemy 2.x). SQLite by default, PostgreSQL by URL.

A change here needs a migration in migrations/versions/ (`deepfake-guard db revision -m ...`).
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import expression


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Every constraint named the same way on both backends, so a later migration can drop or alter
    # it by name (on SQLite, Alembic's batch mode rebuilds a table and needs the names).
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


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
    # "model", or "declared" when Content Credentials / XMP declare generative AI (core/provenance.py)
    reason: Mapped[str] = mapped_column(String(16), default="model", server_default="model")
    fake_probability: Mapped[float] = mapped_column(Float)                 # the model's, whatever the reason
    faces: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(128), index=True)
    elapsed_ms: Mapped[float] = mapped_column(Float)
    page_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    provenance: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # core.provenance.Provenance.to_json()
    # A frame of a video (the extension's "Check this video frame"): its time in the video, in seconds, and
    # the id the client gave all frames of one video check, which ties them together for reviewers.
    video_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    video_group: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class Dispute(Base):
    """A user's "this verdict is wrong": one per check and client (a repeat updates it)."""

    __tablename__ = "disputes"
    __table_args__ = (UniqueConstraint("check_id", "client", name="uq_dispute_check_client"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    check_id: Mapped[str] = mapped_column(ForeignKey("checks.id"), index=True)
    client: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(8))                          # "real" | "fake"
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ReviewItem(Base):
    """One image for reviewers: the outbox row that becomes a Label Studio task, and its outcome.

    Keyed by the image's sha256, so the same picture checked or disputed twice is reviewed once.
    """

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    ext_id: Mapped[str] = mapped_column(String(80), unique=True)           # our id in the task data
    check_id: Mapped[str] = mapped_column(ForeignKey("checks.id"), index=True)  # the check that queued it
    reason: Mapped[str] = mapped_column(String(16))                        # "disputed" | "uncertain"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Outbox: pending → sent. A row is claimed by one sync at a time, for a lease.
    push_state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    data_stale: Mapped[bool] = mapped_column(Boolean, default=False)        # task data must be re-sent
    ls_task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Review outcome, from Label Studio annotations.
    label: Mapped[str | None] = mapped_column(String(8), nullable=True)    # resolved "real" | "fake"
    # No label after DFG_REVIEW_MAX_REVIEWS answers ("Can't tell", ties): closed without a label, never trained on.
    undecided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=expression.false())
    reviewer_count: Mapped[int] = mapped_column(Integer, default=0)
    votes: Mapped[dict] = mapped_column(JSON, default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    used_in_model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # A gold task's known answer ("real" | "fake"): an image mixed into the queue to measure reviewers
    # (feedback/gold.py), never trained on. It waits in push_state "held" until the sync releases it.
    gold_label: Mapped[str | None] = mapped_column(String(8), nullable=True)

    @property
    def status(self) -> str:
        """queued (not yet in Label Studio), in_review, relabeled (reviewers agreed on a label) or
        undecided (the most reviews allowed gave no label)."""
        if self.label:
            return "relabeled"
        if self.undecided:
            return "undecided"
        return "in_review" if self.push_state == "sent" else "queued"


class JobState(Base):
    """Small named values the background jobs keep between runs: the sync's pull watermark per project, the
    retraining lease (feedback/lease.py) and the start of the last retraining run."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ResultCacheEntry(Base):
    """A scored image, shared by every worker: the result cache of server/cache.py.

    Keyed by the image bytes' sha256, the model version that scored it and the detector settings
    (`pipeline`), so a new champion or a changed setting never serves an old answer. Bounded:
    the oldest rows (lowest id) are deleted beyond DFG_RESULT_CACHE_SIZE.
    """

    __tablename__ = "result_cache"
    __table_args__ = (UniqueConstraint("sha256", "model_version", "pipeline", name="uq_result_cache_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(128))
    pipeline: Mapped[str] = mapped_column(String(16))
    check_id: Mapped[str] = mapped_column(String(36))                       # the check that was scored
    result: Mapped[dict] = mapped_column(JSON)                               # verdict, faces, image size, …
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CachedCheck(Base):
    """A check answered from the result cache, pointing at the check whose result it reused.

    The check row itself holds a copy of the verdict, so disputes and history work per check.
    """

    __tablename__ = "cached_checks"

    check_id: Mapped[str] = mapped_column(ForeignKey("checks.id"), primary_key=True)
    source_check_id: Mapped[str] = mapped_column(String(36))


class ApiKey(Base):
    """An API key created with `deepfake-guard keys create`: only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)            # shown in lists, stored with checks
    name: Mapped[str] = mapped_column(String(100))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Enrollment(Base):
    """A one-time enrolment code (`deepfake-guard keys enroll`): redeemed once for a new per-person key.

    Only the code's SHA-256 is stored; `key_id` names the key it became.
    """

    __tablename__ = "enrollments"

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))                          # the key's name once redeemed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ModelVersion(Base):
    """A model version published to the blob store (core/shared_models.py): its metadata.json, whose
    `files` name each file's sha256; the files are blobs `models/files/<sha256>`."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    model_metadata: Mapped[dict] = mapped_column("metadata", JSON)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelChampion(Base):
    """The one row (id 1) naming the champion every host serves; `revision` goes up with each change."""

    __tablename__ = "model_champion"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    promoted_at: Mapped[str] = mapped_column(String(40))
    previous: Mapped[list] = mapped_column(JSON)                  # earlier champions, newest last
    revision: Mapped[int] = mapped_column(Integer)


class ModelEvent(Base):
    """One promote or rollback on any host (the history `models history` shows)."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(100))
    replaced: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    host: Mapped[str] = mapped_column(String(255), default="")
