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

    def _call(self, what: str, call, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(*args, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "?")
            raise BlobError(f"object store {self.describe()}: {what} refused ({code})") from error
        except BotoCoreError as error:
            raise BlobError(f"object store {self.describe()}: {what} failed ({error.__class__.__name__})") from error

    def put(self, key: str, data: bytes, durable: bool = True) -> None:
        # An object store acknowledges a PUT once the object is stored: every write is durable.
        self._call("put", self.client.put_object, Bucket=self.bucket, Key=self._name(key), Body=data)

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            return self._call("get", _reraise, error)
        except Exception as error:  # noqa: BLE001 - connection errors: one message for all
            return self._call("get", _reraise, error)
        return self._call("read", response["Body"].read)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            return self._call("head", _reraise, error)
        except Exception as error:  # noqa: BLE001
            return self._call("head", _reraise, error)

    def copy(self, source: str, target: str) -> bool:
        """Copy an object inside the store (no bytes through this host); False when `source` does not exist."""
        from botocore.exceptions import ClientError

        try:
            self.client.copy_object(Bucket=self.bucket, Key=self._name(target),
                                    CopySource={"Bucket": self.bucket, "Key": self._name(source)})
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            return self._call("copy", _reraise, error)
        except Exception as error:  # noqa: BLE001
            return self._call("copy", _reraise, error)

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=self._name(key))

    def listing(self, prefix: str) -> Iterator[BlobInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = self._name(prefix.rstrip("/")) + "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        pages = self._call("list", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=start)))
        for page in pages:
            for item in page.get("Contents", []):
                yield BlobInfo(item["Key"][strip:], item["Size"], item["LastModified"].timestamp())

    def ping(self) -> None:
        self._call("head bucket", self.client.head_bucket, Bucket=self.bucket)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (a first start on a new store)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise BlobError(f"object store {self.describe()}: bucket check refused "
                                f"({error.response.get('Error', {}).get('Code')})") from error
            self._call("create bucket", self.client.create_bucket, Bucket=self.bucket)
        except Exception as error:  # noqa: BLE001
            self._call("head bucket", _reraise, error)


def _reraise(error: BaseException):
    raise error


def open_blobs(settings, instance_dir: Path | None = None) -> Blobs:
    """The blob store `settings` name: S3 when DFG_BLOB_URL is set, else the instance folder."""
    if settings.blob_url:
        return S3Blobs(settings.blob_url, settings.s3_endpoint_url, timeout=settings.blob_timeout_seconds)
    return FolderBlobs(instance_dir or settings.instance_path())

