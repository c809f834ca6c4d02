"""The app's blob store (core/blobs.py): the instance folder, or object storage by DFG_BLOB_URL."""
from __future__ import annotations

import logging
import time

from flask import Flask, current_app

from core.blobs import BlobError, Blobs, S3Blobs, open_blobs
from core.settings import Settings

log = logging.getLogger(__name__)


class BlobHealth:
    """Whether the blob store answers, asked at most every `every` seconds (/readyz is polled often)."""

    def __init__(self, blobs: Blobs, every: float = 10.0) -> None:
        self.blobs, self.every = blobs, every
        self._checked = float("-inf")
        self._problem: str | None = None

    def problem(self) -> str | None:
        """None when the store answered, else what went wrong (for /readyz)."""
        now = time.monotonic()
        if now - self._checked >= self.every:
            self._checked = now
            try:
                self.blobs.ping()
                self._problem = None
            except BlobError as error:
                self._problem = str(error)
        return self._problem


def health() -> BlobHealth:
    return current_app.extensions["blob_health"]


def init_app(app: Flask, settings: Settings) -> Blobs:
    """Open the blob store; an object store that is down at start-up degrades the server, not stops it."""
    blobs = open_blobs(settings)
    if isinstance(blobs, S3Blobs):
        try:
            blobs.ensure_bucket()
            log.info("files in %s", blobs.describe())
        except BlobError as error:
            log.error("%s; checks are answered, images are not kept until it is back", error)
    app.extensions["blob_health"] = BlobHealth(blobs)
    return blobs
