"""Typed settings read from `DFG_*` environment variables (each one is documented in docs/configuration.md)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]
Fraction = Annotated[float, Field(gt=0, lt=1)]          # strictly between 0 and 1
AucDifference = Annotated[float, Field(ge=0, lt=1)]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything the server, the CLI and the worker can be told; safe embedded defaults."""

    model_config = SettingsConfigDict(env_prefix="DFG_", extra="ignore")

    # State
    instance_dir: Path | None = None
    database_url: str | None = None
    # Files besides the database (core/blobs.py): unset = the instance folder; s3://bucket[/prefix] = object storage
    blob_url: str | None = None
    s3_endpoint_url: str | None = None            # a self-hosted S3-compatible store; credentials: AWS_* variables
    blob_timeout_seconds: PositiveFloat = 5.0      # connect and answer timeout of each object-store call
    model_poll_seconds: PositiveFloat = 5.0        # with DFG_BLOB_URL: how often a server asks the store for the champion

    # Access
    api_keys: CommaList = Field(default_factory=list)
    extension_origins: CommaList = Field(default_factory=list)

    # Intake limits
    max_upload_bytes: PositiveInt = 10 * 1024 * 1024
    max_pixels: PositiveInt = 50_000_000
    max_decoded_mb: PositiveInt = 144               # memory one image's decoded pixels may take (core/intake.py)

    # Images and review
    image_retention_hours: float = 24.0
    image_cache_max_mb: NonNegativeInt = 1024
    review_uncertain_per_day: NonNegativeInt = 50
    # Answers an image may get without a Real/Fake majority ("Can't tell", ties) before it is closed `undecided`
    review_max_reviews: PositiveInt = 3
    # A label against a confident model (Real where it scored >= this, Fake where <= the other) needs two reviewers
    review_confident_fake: Fraction = 0.95
    review_confident_real: Fraction = 0.05
    # Gold tasks (feedback/gold.py): their share of the tasks sent, and the bar a reviewer must clear on them once
    # measured on enough of them; a reviewer under it has their labels held back from training (core/reviewers.py)
    review_gold_rate: Annotated[float, Field(ge=0, lt=1)] = 0.1
    review_gold_min_accuracy: Fraction = 0.8
    review_gold_min_answers: PositiveInt = 3

    # Rate limits (flask-limiter notation, e.g. "300/minute;5000/hour"; empty: no limit)
    rate_limit_per_key: str = "300/minute"
    rate_limit_per_address: str = "1200/minute"
    rate_limit_failed_auth: str = "30/minute"      # per address, calls whose key is missing or invalid
    rate_limit_storage_url: str = "memory://"      # redis://host:6379 to share counts between workers/hosts

    # Logs
    log_format: Literal["json", "text"] = "json"

    # Fetching images by URL
    fetch_allow_hosts: CommaList = Field(default_factory=list)  # host[:port] allowed although private

    # Serving processes (chosen by measurement: server/gunicorn_conf.py, BENCHMARKS.md)
    proxy_hops: NonNegativeInt = 0                 # reverse proxies in front whose X-Forwarded-For is trusted
    client_head_timeout_seconds: PositiveFloat = 10.0   # serve's front: a request's line and headers
    client_body_timeout_seconds: PositiveFloat = 60.0   # serve's front: a request's body (10 MB at 1.4 Mbit/s)
    # serve's front: API requests one key may have at the workers at once; more get 429 + Retry-After (0: no cap)
    max_in_flight_per_key: NonNegativeInt = 3
    workers: PositiveInt = 2
    threads: PositiveInt = 2
    result_cache_size: NonNegativeInt = 50_000               # checks remembered by (sha256, model version); 0: off
    metrics_token: str | None = None              # unset: /metrics answers loopback clients only

    # Label Studio review loop (feedback/): unset URL or key = disputes queue, nothing is pushed
    label_studio_url: str | None = None
    label_studio_api_key: str | None = None
    label_studio_project: str = Field(default="Deepfake Guard", min_length=1, max_length=50)  # LS limit
    label_studio_webhook_secret: str | None = None
    label_studio_timeout_seconds: PositiveFloat = 30.0
    public_url: str | None = None                 # how Label Studio reaches this server (webhook)
    sync_interval_seconds: PositiveFloat = 60.0
    sync_batch_size: PositiveInt = 100
    sync_lease_seconds: PositiveInt = 300
    sync_retry_attempts: PositiveInt = 5

    # Retraining from reviewed labels (feedback/retrain.py)
    base_data_dir: Path | None = None             # unset: the synthetic generator (models/data/synthetic.py)
    feedback_weight: PositiveFloat = 5.0                  # loss weight of a reviewed example (a base example weighs 1)
    retrain_schedule: str = "0 3 * * 0"           # crontab (UTC) of `worker`'s retraining; empty: never
    retrain_min_labels: NonNegativeInt = 50                  # new labels since the last run before `worker` retrains
    retrain_auc_tolerance: AucDifference = 0.01           # base-holdout ROC AUC a challenger may lose (docs/retraining.md)
    retrain_confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.95   # how sure a feedback improvement must be
    retrain_holdout_fraction: Fraction = 0.2         # share of reviewed images held out for the gate
    retrain_min_holdout: PositiveInt = 10                 # held-out reviewed images the gate needs to promote
    retrain_epochs: PositiveInt = 5                       # every epoch runs; the gate judges the last weights
    retrain_learning_rate: PositiveFloat = 1e-4           # peak learning rate of the fine-tuning
    retrain_synthetic_count: PositiveInt = 500            # synthetic base images per class when DFG_BASE_DATA_DIR is unset
    retrain_lease_seconds: PositiveInt = 3600             # the store lock's lease, renewed every epoch

    # Model and detector
    model_dir: Path | None = None
    runtime_threads: PositiveInt = 1
    face_min_score: Annotated[float, Field(ge=0, le=1)] = 0.5
    max_faces: PositiveInt = 8

    @field_validator("api_keys", "extension_origins", "fetch_allow_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("label_studio_url", "label_studio_api_key", "label_studio_webhook_secret", "public_url",
                     "metrics_token", "blob_url", "s3_endpoint_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `DFG_X=` in a shell or .env means "not configured", not an empty URL or secret.
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("label_studio_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("blob_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_.+/-]*)?$", value):
            raise ValueError("not s3://bucket[/prefix] (a bucket name is 3-63 lower-case letters, digits, dots and "
                             "dashes); leave it unset to keep files in the instance folder")
        return value.rstrip("/") if value else value

    @field_validator("retrain_schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        value = value.strip()
        if value:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as error:
                raise ValueError(f"not a crontab expression ({error}); e.g. '0 3 * * 0' is Sundays 03:00 UTC, "
                                 "empty turns scheduled retraining off") from None
        return value

    def instance_path(self) -> Path:
        """The one folder that holds all state: DFG_INSTANCE_DIR, or Flask's instance folder for `server`."""
        if self.instance_dir:
            return Path(self.instance_dir).resolve()
        from flask import Flask

        return Path(Flask("server").instance_path)

    @property
    def label_studio_configured(self) -> bool:
        return bool(self.label_studio_url and self.label_studio_api_key)
