"""Property-based fuzzing of the provenance reader: mutated C2PA, XMP and PNG-text files and random bytes
give a Provenance (items, maybe "unreadable"), never an exception, and never a declaration from a
manifest that no longer validates."""
from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.provenance import read
from tests.provenance_files import c2pa_signed, fixture, jpeg_with_xmp, png_with_text, xmp_packet

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SLOWEST = {"ms": 0.0}


@functools.cache
def _seeds() -> tuple[bytes, ...]:
    return (fixture("C.jpg"), fixture("XCA.jpg"), fixture("cloud.jpg"), c2pa_signed("PNG", size=64),
            jpeg_with_xmp(xmp_packet("trainedAlgorithmicMedia", creator_tool="Midjourney")),
            png_with_text({"parameters": "a prompt", "Software": "NovelAI"}, compressed=True))


def _read(data: bytes):
    found = read(data)
    SLOWEST["ms"] = max(SLOWEST["ms"], found.elapsed_ms)
    assert isinstance(found.to_json()["items"], list)
    return found


@FUZZ
@given(st.integers(0, 5), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_flipped_bytes(seed, flips):
    data = bytearray(_seeds()[seed])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    found = _read(bytes(data))
    if found.c2pa and found.c2pa.get("state") != "valid":
        assert not any(item.kind == "declared-ai" and item.source == "c2pa" for item in found.items)


@FUZZ
@given(st.integers(0, 5), st.floats(0, 1))
def test_truncated_files(seed, keep):
    data = _seeds()[seed]
    _read(data[:int(keep * len(data))])


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from([b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBP"]))
def test_random_bytes_with_markers(noise, head):
    # markers that send the bytes to every parser: C2PA boxes, an XMP packet start, text chunk names
    _read(head + noise + b"jumbc2pa<x:xmpmeta Iptc4xmpExt:DigitalSourceType=\"" + noise[:64] + b"tEXtExif")


def teardown_module(module):
    print(f"\nprovenance fuzz: slowest read {SLOWEST['ms']:.1f} ms")
