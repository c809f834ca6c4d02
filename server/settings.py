"""Typed settings read from `DFG_*` environment variables (each one is documented in README.md)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

CommaList = Annotated[list[str], NoDecode]


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

    # Access
    api_keys: CommaList = Field(default_factory=list)
    extension_origins: CommaList = Field(default_factory=list)

    # Intake limits
    max_upload_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000

    # Images and review
    image_retention_hours: float = 24.0
    image_cache_max_mb: int = 1024
    review_uncertain_per_day: int = 50

    # Serving processes
    workers: int = 2
    threads: int = 4

    # Model and detector
    model_dir: Path | None = None
    runtime_threads: int = 2
    face_min_score: float = 0.5
    max_faces: int = 8

    @field_validator("api_keys", "extension_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("max_upload_bytes", "max_pixels", "runtime_threads", "max_faces", "workers", "threads")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive integer")
        return value
