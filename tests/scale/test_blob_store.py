"""The blob store on both backends (the instance folder, a real S3 store: Swift), and the image store over it."""
from __future__ import annotations

import hashlib
import time

import pytest

from core.blobs import BlobError, FolderBlobs, S3Blobs
from core.images import ImageStore
from tests.scale_services import closed_port_url, s3_bucket


@pytest.fixture(params=["folder", "s3"])
def blobs(request, tmp_path, monkeypatch):
    if request.param == "folder":
        yield FolderBlobs(tmp_path / "instance")
        return
    with s3_bucket() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield S3Blobs(env["DFG_BLOB_URL"], env["DFG_S3_ENDPOINT_URL"])


def test_a_blob_is_written_read_listed_and_deleted(blobs):
    assert blobs.get("images/kept/ab/missing") is None and not blobs.exists("images/kept/ab/missing")
    blobs.put("images/kept/ab/one", b"1" * 1000)
    blobs.put("images/cache/cd/two", b"22")
    blobs.put("images/cache/ef/three", b"333", durable=False)
    assert blobs.get("images/kept/ab/one") == b"1" * 1000 and blobs.exists("images/kept/ab/one")
    listed = {item.key: item.size for item in blobs.listing("images/cache")}
    assert listed == {"images/cache/cd/two": 2, "images/cache/ef/three": 3}
    assert all(abs(item.modified - time.time()) < 120 for item in blobs.listing("images"))
    blobs.delete("images/cache/cd/two")
    assert blobs.get("images/cache/cd/two") is None
    assert [item.key for item in blobs.listing("images/cache")] == ["images/cache/ef/three"]
    assert blobs.copy("images/cache/ef/three", "images/kept/ef/three") is True
    assert blobs.get("images/kept/ef/three") == b"333"
    assert blobs.copy("images/cache/00/gone", "images/kept/00/gone") is False and not blobs.exists("images/kept/00/gone")
    blobs.ping()
    with pytest.raises(ValueError):
        blobs.put("../outside", b"x")


def test_images_are_cached_kept_read_and_pruned_in_the_blob_store(blobs):
    store = ImageStore(blobs, retention_hours=1, max_cache_bytes=10_000, auto_prune=False)
    images = [bytes([index]) * 3000 for index in range(4)]
    digests = [hashlib.sha256(data).hexdigest() for data in images]
    for digest, data in zip(digests, images):
        store.remember(digest, data)
        assert store.read(digest) == data        # at once, even while an object-store write is still queued
    store.flush()
    assert {item.key for item in blobs.listing("images/cache")} == {store.key("cache", d) for d in digests}
    assert store.keep(digests[0]) is True          # from the cache
    assert store.keep(hashlib.sha256(b"never seen").hexdigest()) is False
    assert blobs.get(store.key("kept", digests[0])) == images[0]
    # 12 kB cached over a 10 kB bound: the oldest goes; two hours on, every cached one has expired
    assert store.prune() == 1
    assert store.prune(now=time.time() + 7200) == 3
    assert not list(blobs.listing("images/cache"))
    assert store.read(digests[0]) == images[0]     # kept for review: never pruned


def test_a_store_that_is_down_raises_blob_error_within_its_timeout(monkeypatch):
    from tests.scale_services import S3_CREDENTIALS

    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    down = S3Blobs("s3://dfg-down/p", closed_port_url(), timeout=1)
    started = time.monotonic()
    for call in (lambda: down.get("images/kept/ab/x"), lambda: down.put("images/kept/ab/x", b"x"), down.ping,
                 lambda: list(down.listing("images/cache"))):
        with pytest.raises(BlobError, match="dfg-down"):
            call()
    assert time.monotonic() - started < 20
