"""What the landmark head costs per face: the served classifier with and without it, in one run.

Both sides score the same 256² face crops (bench.inputs' face JPEGs, decoded and cropped as the
server does) through `ServedModel.fake_probabilities` with the server's runtime threads (1); the runs
alternate call by call so a noisy machine favours neither. "without" is the same model folder
minus its landmark_head.npz, or with `--against` another model folder (e.g. the previous default).

    python -m bench.head_cost [--model DIR] [--against DIR] [--calls 200]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _crops(size: int) -> list[np.ndarray]:
    from bench.inputs import face_jpegs
    from core.check import served_crops
    from core.faces import FaceDetector
    from core.intake import decode_image

    detector = FaceDetector(num_threads=1)
    crops = []
    for data in face_jpegs():
        rgb = decode_image(data, 50_000_000).rgb
        crops.append(served_crops(rgb, detector.detect(rgb)[:1], size)[:1])
    return crops


def main(argv: list[str] | None = None) -> None:
    import models
    from core.landmark_head import HEAD_FILE
    from core.served_model import ServedModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=models.DEFAULT_MODEL_DIR)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--against", type=Path, help="compare with this model folder instead of the model minus "
                                                     "its head")
    args = parser.parse_args(argv)
    if args.against is None and not (args.model / HEAD_FILE).is_file():
        raise SystemExit(f"{args.model} has no {HEAD_FILE}: nothing to compare")
    with tempfile.TemporaryDirectory() as scratch:
        first = ServedModel(args.model, threads=1)
        if args.against is not None:
            other = ServedModel(args.against, threads=1)
            if other.version == first.version:
                raise SystemExit(f"{args.model} and {args.against} are the same version, {first.version}")
            sides = {first.version: first, other.version: other}
        else:
            plain_dir = Path(scratch) / "without-head"
            shutil.copytree(args.model, plain_dir)
            (plain_dir / HEAD_FILE).unlink()
            sides = {"with head": first, "without": ServedModel(plain_dir, threads=1)}
        crops = _crops(first.info.input_size)
        times: dict[str, list[float]] = {name: [] for name in sides}
        for call in range(args.calls + 10):           # the first 10 calls of each side warm up
            for name, classifier in (sides.items() if call % 2 else reversed(sides.items())):
                crop = crops[call % len(crops)]
                started = time.perf_counter()
                classifier.fake_probabilities(crop)
                if call >= 10:
                    times[name].append(time.perf_counter() - started)
    print(f"{args.model}: ServedModel.fake_probabilities on one 256² face crop, 1 runtime thread, {args.calls} alternating "
          f"calls per side, {len(crops)} different crops")
    width = max(10, *(len(name) for name in times))
    print(f"{'':>{width}} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for name, values in times.items():
        ms = np.asarray(values) * 1000
        print(f"{name:>{width}} {np.median(ms):8.2f} {np.percentile(ms, 95):8.2f} {ms.mean():8.2f}")
    (name, values), (other, baseline) = times.items()
    print(f"{name} takes {(np.median(values) - np.median(baseline)) * 1000:+.2f} ms per face against {other} "
          "(median)")


if __name__ == "__main__":
    main()
