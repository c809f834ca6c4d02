"""Where files live besides the database: the instance folder (the default) or S3-compatible object storage.

What goes here: checked and kept images (core/images.py) and the registry's model files (core/shared_models.py).
Keys are relative paths such as `images/kept/ab/<sha256>`; in the folder they are those paths under the
instance folder, so a server that switches to `DFG_BLOB_URL=s3://bucket/prefix` finds the same names there.

    blobs = open_blobs(settings)         # FolderBlobs(instance folder) or S3Blobs(bucket, prefix)
    blobs.put("images/kept/ab/...", data)
    data = blobs.get("images/kept/ab/...")   # None when absent; BlobError when the store cannot answer

S3: credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an
instance role); the endpoint from DFG_S3_ENDPOINT_URL (a self-hosted store) or AWS_ENDPOINT_URL.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from core.files import write_atomic

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$")


class BlobError(RuntimeError):
    """The blob store could not do what was asked (unreachable, refused, misconfigured)."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: float     # Unix time of the last write


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class Blobs(Protocol):
    remote: bool        # True when a write crosses the network (worth doing off a request's path)

    def describe(self) -> str: ...
    def put(self, key: str, data: bytes, durable: bool = True) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def exists(self, key: str) -> bool: ...
    def copy(self, source: str, target: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def listing(self, prefix: str) -> Iterator[BlobInfo]: ...
    def ping(self) -> None: ...


class FolderBlobs:
    """Blobs as files under one folder (`key` is a relative path); writes are atomic renames."""

    remote = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"folder {self.root}"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, durable: bool = True) -> None:
        write_atomic(self.path(key), data, durable=durable)

    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def copy(self, source: str, target: str) -> bool:
        """Copy a blob under another key (durably); False when `source` does not exist."""
        data = self.get(source)
        if data is None:
            return False
        self.put(target, data, durable=True)
        return True

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def listing(self, prefix: str) -> Iterator[BlobInfo]:
        folder = self.root / check_key(prefix.rstrip("/"))
        if not folder.is_dir():
            return
        for path in folder.rglob("*"):
            if path.name.startswith("."):
                continue           # write_atomic's temporary files
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                yield BlobInfo(path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime)

    def ping(self) -> None:
        if not self.root.is_dir():
            raise BlobError(f"{self.root} is not a folder")


class S3Blobs:
    """Blobs as objects in one bucket under a prefix, through boto3 (path-style addressing).

    Args:
        url: `s3://bucket` or `s3://bucket/prefix`.
        endpoint_url: the store's address (None: AWS, or AWS_ENDPOINT_URL).
        timeout: seconds to connect and to wait for an answer; a store that does not answer in time
            raises BlobError instead of holding the request.
    """

    remote = True

    def __init__(self, url: str, endpoint_url: str | None = None, timeout: float = 5.0, region: str = "us-east-1") -> None:
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise BlobError(f"DFG_BLOB_URL {url!r} is not s3://bucket[/prefix]")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url
        config = Config(s3={"addressing_style": "path"}, region_name=region, connect_timeout=timeout,
                        read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"},
                        request_checksum_calculation="when_required", response_checksum_validation="when_required")
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)

    def describe(self) -> str:
        name = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        return f"{name} at {self.endpoint_url}" if self.endpoint_url else name

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """botocore's errors (refused, unreachable, timed out) as one BlobError naming the store and the call."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            raise BlobError(f"object store {self.describe()}: {what} refused ({_code(error)})") from error
        except BotoCoreError as error:
            raise BlobError(f"object store {self.describe()}: {what} failed ({error.__class__.__name__})") from error

    def put(self, key: str, data: bytes, durable: bool = True) -> None:
        # An object store acknowledges a PUT once the object is stored: every write is durable.
        name = self._name(key)
        with self._translated("put"):
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data)

    def get(self, key: str) -> bytes | None:
        name = self._name(key)
        with self._translated("get"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=name)
            except Exception as error:
                if _missing(error):
                    return None
                raise
            return response["Body"].read()

    def exists(self, key: str) -> bool:
        name = self._name(key)
        with self._translated("head"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=name)
                return True
            except Exception as error:
                if _missing(error):
                    return False
                raise

    def copy(self, source: str, target: str) -> bool:
        """Copy an object inside the store (no bytes through this host); False when `source` does not exist."""
        names = self._name(source), self._name(target)
        with self._translated("copy"):
            try:
                self.client.copy_object(Bucket=self.bucket, Key=names[1], CopySource={"Bucket": self.bucket, "Key": names[0]})
                return True
            except Exception as error:
                if _missing(error):
                    return False
                raise

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._translated("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def listing(self, prefix: str) -> Iterator[BlobInfo]:
        start = self._name(prefix.rstrip("/")) + "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        with self._translated("list"):
            pages = list(self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start))
        for page in pages:
            for item in page.get("Contents", []):
                yield BlobInfo(item["Key"][strip:], item["Size"], item["LastModified"].timestamp())

    def ping(self) -> None:
        with self._translated("head bucket"):
            self.client.head_bucket(Bucket=self.bucket)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (a first start on a new store)."""
        with self._translated("create bucket"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except Exception as error:
                if not _missing(error):
                    raise
                self.client.create_bucket(Bucket=self.bucket)


def _code(error) -> str:
    return str(error.response.get("Error", {}).get("Code", "?"))


def _missing(error: Exception) -> bool:
    """True for S3's "no such key" answers (GET says NoSuchKey, HEAD only 404; HEAD bucket 404 too)."""
    from botocore.exceptions import ClientError

    return isinstance(error, ClientError) and _code(error) in ("NoSuchKey", "404", "NotFound")


def open_blobs(settings) -> Blobs:
    """The blob store `settings` name: S3 when DFG_BLOB_URL is set, else the instance folder."""
    if settings.blob_url:
        return S3Blobs(settings.blob_url, settings.s3_endpoint_url, timeout=settings.blob_timeout_seconds)
    return FolderBlobs(settings.instance_path())

