"""Image bytes on disk, content-addressed by sha256, in two places under the instance folder.

- `images/cache/`: every checked image, so a user can still dispute it later. Bounded: files older
  than DFG_IMAGE_RETENTION_HOURS, or beyond DFG_IMAGE_CACHE_MAX_MB (oldest first), are pruned.
- `images/kept/`: images that reviewers need (disputed or uncertain checks). Written with fsync
  before the store commits the row that points at them; never pruned.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from core.files import write_atomic

log = logging.getLogger(__name__)
PRUNE_INTERVAL_SECONDS = 600


class ImageStore:
    """Checked images (bounded cache) and images under review (kept durably)."""

    def __init__(self, root: Path, retention_hours: float, max_cache_bytes: int, auto_prune: bool = True) -> None:
        self.cache_dir = Path(root) / "cache"
        self.kept_dir = Path(root) / "kept"
        self.retention_seconds = retention_hours * 3600
        self.max_cache_bytes = max_cache_bytes
        self._next_prune = 0.0 if auto_prune else float("inf")
        self._prune_lock = threading.Lock()

    @staticmethod
    def _name(folder: Path, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return folder / sha256[:2] / sha256

    def remember(self, sha256: str, data: bytes) -> None:
        """Cache a checked image for later disputes (no fsync: losing it costs only a re-send)."""
        if self.retention_seconds <= 0:
            return
        path = self._name(self.cache_dir, sha256)
        if not path.exists():
            write_atomic(path, data, durable=False)
        self._maybe_prune()

    def keep(self, sha256: str, data: bytes | None = None) -> bool:
        """Make an image durable for review, from `data` or from the cache.

        Returns:
            False when no bytes were given and the cache no longer holds the image.
        """
        kept = self._name(self.kept_dir, sha256)
        if kept.exists():
            return True
        if data is None:
            cached = self._name(self.cache_dir, sha256)
            try:
                data = cached.read_bytes()
            except FileNotFoundError:
                return False
        write_atomic(kept, data, durable=True)
        return True

    def read(self, sha256: str) -> bytes | None:
        for folder in (self.kept_dir, self.cache_dir):
            try:
                return self._name(folder, sha256).read_bytes()
            except FileNotFoundError:
                continue
        return None

    def prune(self, now: float | None = None) -> int:
        """Delete cached images past retention, then the oldest beyond the size bound."""
        now = time.time() if now is None else now
        files = []
        for path in self.cache_dir.glob("*/*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        files.sort()
        total = sum(size for _, size, _ in files)
        removed = 0
        for mtime, size, path in files:
            if now - mtime <= self.retention_seconds and total <= self.max_cache_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

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
        except OSError as error:
            log.warning("image cache prune failed: %s", error)
        finally:
            self._prune_lock.release()
