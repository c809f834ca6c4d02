"""The app's store (core/store): made and migrated at start, one per process."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from core.store import Store


def store() -> Store:
    return current_app.extensions["store"]


def init_app(app: Flask, database_url: str | None) -> None:
    instance = Path(app.instance_path)
    app.extensions["store"] = created = Store.for_instance(database_url, instance)
    created.migrate_to_latest()
