"""The multi-host parts for a test: a fresh bucket in the S3 store and a fresh Redis database.

scripts/test.sh starts both (scripts/swift.sh, scripts/redis.sh) and exports DFG_TEST_S3_ENDPOINT and
DFG_TEST_REDIS_URL; without them these tests skip with the commands that start them.
"""
from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

S3_VARIABLE = "DFG_TEST_S3_ENDPOINT"
REDIS_VARIABLE = "DFG_TEST_REDIS_URL"
# scripts/swift.sh's tempauth user (test only; a real store gives its own)
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test:tester", "AWS_SECRET_ACCESS_KEY": "testing"}


def s3_endpoint() -> str:
    endpoint = os.environ.get(S3_VARIABLE)
    if not endpoint:
        pytest.skip(f"object-store tests need {S3_VARIABLE}: run scripts/swift.sh start, then "
                    f"export {S3_VARIABLE}=\"$(scripts/swift.sh url)\" (scripts/test.sh does both)")
    return endpoint


def s3_client(endpoint: str):
    """A boto3 client for the test store as scripts/swift.sh runs it (path-style, its test user)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required"))


@contextmanager
def s3_bucket(prefix: str = "dfg", endpoint: str | None = None) -> Iterator[dict]:
    """Environment variables naming an empty bucket (DFG_BLOB_URL, DFG_S3_ENDPOINT_URL, credentials); emptied and
    removed after. The store is `endpoint`, else DFG_TEST_S3_ENDPOINT (the test skips without it)."""
    endpoint = endpoint or s3_endpoint()
    client = s3_client(endpoint)
    name = f"dfg-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    try:
        yield {"DFG_BLOB_URL": f"s3://{name}/{prefix}", "DFG_S3_ENDPOINT_URL": endpoint, **S3_CREDENTIALS}
    finally:
        # A server's background write may land after the first listing: empty it until it can go.
        for attempt in range(5):
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                for item in page.get("Contents", []):
                    client.delete_object(Bucket=name, Key=item["Key"])   # one by one: no Content-MD5 needed
            try:
                client.delete_bucket(Bucket=name)
                break
            except client.exceptions.ClientError:
                if attempt == 4:
                    raise
                time.sleep(0.5)


def redis_url() -> str:
    """A Redis database of its own (1–15 at random), emptied first."""
    base = os.environ.get(REDIS_VARIABLE)
    if not base:
        pytest.skip(f"Redis tests need {REDIS_VARIABLE}: run scripts/redis.sh start, then "
                    f"export {REDIS_VARIABLE}=\"$(scripts/redis.sh url)\" (scripts/test.sh does both)")
    import redis

    url = f"{base.rstrip('/')}/{random.randint(1, 15)}"
    redis.Redis.from_url(url).flushdb()
    return url


def closed_port_url(scheme: str = "http") -> str:
    """An address on this machine where nothing listens: a store that is down."""
    from tests.servers import free_port

    return f"{scheme}://127.0.0.1:{free_port()}"
