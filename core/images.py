"""Image bytes, content-addressed by sha256, in two places of the blob store (core/blobs.py).

- `images/cache/`: every checked image, so a user can still dispute it later. Bounded: images older
  than DFG_IMAGE_RETENTION_HOURS, or beyond DFG_IMAGE_CACHE_MAX_MB (oldest first), are pruned.
- `images/kept/`: images that reviewers need (disputed or uncertain checks). Written durably before
  the store commits the row that points at them; never pruned.

In object storage a write costs a round trip (tens of ms for a photo), so a checked image is cached by
a background thread, off the answer's path; images still waiting are served from memory meanwhile.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from core.blobs import BlobError, Blobs

log = logging.getLogger(__name__)
PRUNE_INTERVAL_SECONDS = 600
PENDING_LIMIT = 32          # checked images waiting for a background write; beyond it they are not cached


class ImageStore:
    """Checked images (bounded cache) and images under review (kept durably)."""

    def __init__(self, blobs: Blobs, retention_hours: float, max_cache_bytes: int, auto_prune: bool = True) -> None:
        self.blobs = blobs
        self.retention_seconds = retention_hours * 3600
        self.max_cache_bytes = max_cache_bytes
        self._next_prune = 0.0 if auto_prune else float("inf")
        self._prune_lock = threading.Lock()
        self._pending: dict[str, bytes] = {}        # sha256 → bytes not yet written (object storage only)
        self._writes: queue.Queue[str] | None = None
        self._pending_lock = threading.Lock()

    @staticmethod
    def key(place: str, sha256: str) -> str:
        """The blob key of an image: place is "cache" or "kept"."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return f"images/{place}/{sha256[:2]}/{sha256}"

    def remember(self, sha256: str, data: bytes) -> None:
        """Cache a checked image for later disputes (not durable: losing it costs only a re-send)."""
        if self.retention_seconds <= 0:
            return
        if self.blobs.remote:
            self._write_later(sha256, data)
        else:
            self._cache(sha256, data)
        self._maybe_prune()

    def keep(self, sha256: str, data: bytes | None = None) -> bool:
        """Make an image durable for review, from `data` or from the cache.

        Returns:
            False when no bytes were given and the cache no longer holds the image.
        Raises:
            BlobError: the blob store could not be read or written.
        """
        kept = self.key("kept", sha256)
        if self.blobs.exists(kept):
            return True
        data = data if data is not None else self._pending.get(sha256)
        if data is None:
            return self.blobs.copy(self.key("cache", sha256), kept)   # in an object store: no bytes through here
        self.blobs.put(kept, data, durable=True)
        return True

    def read(self, sha256: str) -> bytes | None:
        """The image's bytes from wherever they are, or None (BlobError: the store did not answer)."""
        pending = self._pending.get(sha256)
        if pending is not None:
            return pending
        for place in ("kept", "cache"):
            data = self.blobs.get(self.key(place, sha256))
            if data is not None:
                return data
        return None

    def prune(self, now: float | None = None) -> int:
        """Delete cached images past retention, then the oldest beyond the size bound."""
        now = time.time() if now is None else now
        files = sorted((item.modified, item.size, item.key) for item in self.blobs.listing("images/cache"))
        total = sum(size for _, size, _ in files)
        removed = 0
        for modified, size, key in files:
            if now - modified <= self.retention_seconds and total <= self.max_cache_bytes:
                break
            self.blobs.delete(key)
            total -= size
            removed += 1
        return removed

    def _cache(self, sha256: str, data: bytes) -> None:
        key = self.key("cache", sha256)
        if not self.blobs.exists(key):          # written once: the same image checked again is not re-sent
            self.blobs.put(key, data, durable=False)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the background writes queued so far are done (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)

    # --- background writes (object storage) -----------------------------------------------------------
    def _write_later(self, sha256: str, data: bytes) -> None:
        with self._pending_lock:
            if sha256 in self._pending:
                return
            if len(self._pending) >= PENDING_LIMIT:
                log.warning("image cache: %d writes waiting for the object store; not caching %s", PENDING_LIMIT,
                            sha256[:12])
                return
            self._pending[sha256] = data
            if self._writes is None:
                self._writes = queue.Queue()
                threading.Thread(target=self._writer, daemon=True, name="image-cache-writer").start()
        self._writes.put(sha256)

    def _writer(self) -> None:
        while True:
            sha256 = self._writes.get()
            try:
                self._cache(sha256, self._pending[sha256])
            except BlobError as error:
                log.warning("image cache: %s (a dispute of it will ask for the image again)", error)
            finally:
                with self._pending_lock:
                    self._pending.pop(sha256, None)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune or not self._prune_lock.acquire(blocking=False):
            return
        self._next_prune = now + PRUNE_INTERVAL_SECONDS
        threading.Thread(target=self._prune_in_background, daemon=True, name="image-prune").start()

    def _prune_in_background(self) -> None:
        try:
            removed = self.prune()
            if removed:
                log.info("pruned %d cached images", removed)
        except (OSError, BlobError) as error:
            log.warning("image cache prune failed: %s", error)
        finally:
            self._prune_lock.release()
