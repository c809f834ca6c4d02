"""What the server answers for each provenance test file, and what reading provenance costs per check,
side by side with two costs every check already pays for the same bytes (sha256, and decoding).

    python -m bench.provenance [--repeat 200]

Answers come from the real app (the shipped model) through its test client; costs are the median
and 95th percentile of `core.provenance.read` over --repeat runs in this process (the C2PA library
loaded first, as the server does at start).
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time

import numpy as np

from core import provenance
from core.intake import decode_image
from tests.images import astronaut, encode
from tests.provenance_files import c2pa_signed, fixture, jpeg_with_software, jpeg_with_xmp, png_with_text, xmp_packet


def files() -> dict[str, bytes]:
    face = astronaut()
    big = np.asarray(np.kron(face, np.ones((8, 8, 1), dtype=np.uint8)))[:3000, :4000]   # 12 MP
    return {
        "A.jpg (no manifest)": fixture("A.jpg"),
        "plain JPEG 512x512": encode(face, "JPEG", quality=90),
        "plain JPEG 12 MP": encode(big, "JPEG", quality=90),
        "plain PNG 512x512": encode(face, "PNG"),
        "plain WebP 512x512": encode(face, "WEBP"),
        "C.jpg (algorithmicMedia)": fixture("C.jpg"),
        "CA.jpg (edit history)": fixture("CA.jpg"),
        "XCA.jpg (changed after signing)": fixture("XCA.jpg"),
        "E-sig-CA.jpg (tampered claim)": fixture("E-sig-CA.jpg"),
        "cloud.jpg (remote manifest)": fixture("cloud.jpg"),
        "signed PNG (trainedAlgorithmicMedia)": c2pa_signed("PNG", size=512),
        "signed WebP (trainedAlgorithmicMedia)": c2pa_signed("WEBP", size=512),
        "XMP IPTC trainedAlgorithmicMedia": jpeg_with_xmp(xmp_packet("trainedAlgorithmicMedia")),
        "XMP IPTC algorithmicMedia": jpeg_with_xmp(xmp_packet("algorithmicMedia")),
        "PNG text 'parameters'": png_with_text({"parameters": "portrait photo, Steps: 30, Sampler: Euler a"}),
        "EXIF Software 'Midjourney'": jpeg_with_software("Midjourney"),
    }


def timed(function, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def answers(data: dict[str, bytes]) -> list[tuple[str, dict]]:
    from server import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"instance_dir": folder, "api_keys": ["bench-key-0123456789abcdef"]})
        client = app.test_client()
        auth = {"Authorization": "Bearer bench-key-0123456789abcdef"}
        return [(name, client.post("/api/v1/checks", headers=auth, data=body,
                                   content_type="application/octet-stream").get_json()) for name, body in data.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    data = files()
    print("| file | verdict | reason | provenance sentence |\n|---|---|---|---|")
    for name, answer in answers(data):
        print(f"| {name} | {answer['verdict']} | {answer['reason']} | {answer['provenance']['summary'] or '—'} |")
    provenance.warm_up()
    print(f"\nper check, ms (median / p95 of {args.repeat}); sha256 and decode are paid by every check already\n")
    print("| file | bytes | provenance | sha256 | decode |\n|---|---|---|---|---|")
    for name, body in data.items():
        cost = timed(lambda body=body: provenance.read(body), args.repeat)
        sha = timed(lambda body=body: hashlib.sha256(body).hexdigest(), args.repeat)
        decode = timed(lambda body=body: decode_image(body, 50_000_000), max(5, args.repeat // 20))
        print(f"| {name} | {len(body):,} | {cost[0]:.2f} / {cost[1]:.2f} | {sha[0]:.2f} / {sha[1]:.2f} "
              f"| {decode[0]:.1f} / {decode[1]:.1f} |")


if __name__ == "__main__":
    main()
