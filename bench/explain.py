"""How faithful the served heatmaps are, against alternatives and baselines, and what one costs per face.

    python -m bench.explain [--data ../shared/data/faces-gan] [--swaps ../shared/data/faces-swap]
                            [--count 80] [--pairs 60] [--no-gradient]

1. Self-blended fakes (models/data/selfblend.py) of the real photos of faces-gan's Test split, cut as
   served; the blend mask says which pixels were changed. Per map:
   - share: the map's mass inside the mask (a map that knows nothing scores the mask's area);
   - peak inside: whether the map's hottest cell lies inside the mask (mask covers > half the cell);
   - deletion: the fall of the served fake logit when the map's top quarter of cells is hidden
     (mean colour), beside hiding a random quarter (what a map must beat to say anything about the model).
2. faces-swap pairs (a DFDC face swap and the frame it replaced, cut with the fake's face box): the
   share of |map(fake) − map(real)| inside the pixels that differ (|Δ| > 12 of 255, per channel mean).
3. Cost per face of an explanation, beside scoring the same crop once (what a check pays).

Methods: occlusion with the mean colour (served), occlusion with a blurred copy, and the gradient ×
input of the Keras network alone (it leaves out the landmark head and the data rule: no TensorFlow is
served); baselines: a uniform map and a centre prior (a Gaussian on the crop's face).
"""
from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import models
from core.crops import crop_face
from core.explain import GRID, occlusion_map, to_grid
from core.faces import FaceDetector
from core.served_model import ServedModel
from models.data.pipeline import find_splits
from models.data.prepare import Preparer
from models.evaluation.explanations import deletion_falls

DIFF_LEVEL = 12


def _centre_prior(size: int) -> np.ndarray:
    """A Gaussian on where a served crop puts the face (centre, raised as core/crops.py raises it)."""
    ys, xs = np.mgrid[0:size, 0:size] / size
    return np.exp(-(((xs - 0.5) ** 2) + ((ys - 0.56) ** 2)) / (2 * 0.18 ** 2))


class GradientMap:
    """|gradient × input| of the Keras network's fake probability, summed over channels."""

    def __init__(self, folder: Path) -> None:
        import tensorflow as tf

        from models.training.architectures import load_keras

        self.tf, self.model = tf, load_keras(folder / "model.keras")

    def __call__(self, prepared: np.ndarray) -> np.ndarray:
        tf = self.tf
        pixels = tf.convert_to_tensor(prepared[None].astype(np.float32))
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            output = self.model(pixels, training=False)
            output = output["fake_probability"] if isinstance(output, dict) else output
            score = tf.reshape(output, [-1])[0]
        saliency = np.abs((tape.gradient(score, pixels) * pixels).numpy()[0]).sum(axis=-1)
        return to_grid(saliency)


def _normalised(cells: np.ndarray) -> np.ndarray:
    peak = cells.max()
    return cells / peak if peak > 0 else cells


def _share(cells: np.ndarray, mask: np.ndarray) -> float:
    total = cells.sum()
    return float((cells * mask).sum() / total) if total > 0 else float("nan")


def self_blended(model: ServedModel, data: Path, count: int, gradient: GradientMap | None) -> dict:
    test = find_splits(data)["Test"]
    reals = [path for path, label in zip(test.paths, test.labels) if label == 0]
    rng = np.random.default_rng(1337)
    prior = to_grid(_centre_prior(model.info.input_size))
    methods = ["occlusion (mean colour, served)", "occlusion (blurred copy)"] + (
        ["gradient × input (Keras network only)"] if gradient else []) + ["uniform map", "centre prior"]
    rows = {name: {"share": [], "peak": [], "top": [], "random": []} for name in methods}
    flagged, areas = [], []
    with tempfile.TemporaryDirectory() as cache:
        preparer = Preparer(cache, model.info.input_size)
        for path in reals:
            if len(areas) >= count:
                break
            made = preparer.self_blend(path, 0)
            if made is None:
                continue
            crop = np.asarray(Image.open(made[0]).convert("RGB"))
            mask = to_grid((np.asarray(Image.open(made[1]).convert("L")) > 127).astype(np.float32))
            served = occlusion_map(model, crop, "mean")
            maps = {methods[0]: served.values, methods[1]: occlusion_map(model, crop, "blur").values}
            if gradient:
                maps[methods[2]] = _normalised(gradient(model.prepare(crop[None])[0]))
            maps["uniform map"], maps["centre prior"] = np.ones((GRID, GRID)), _normalised(prior)
            areas.append(float(mask.mean()))
            flagged.append(served.base >= model.info.threshold)
            for name, cells in maps.items():
                rows[name]["share"].append(_share(cells, mask))
                peak = np.unravel_index(np.argmax(cells), cells.shape)
                rows[name]["peak"].append(float(mask[peak] > 0.5))
                if name != "uniform map":
                    top, random = deletion_falls(model, crop, cells, rng)
                    rows[name]["top"].append(top)
                    rows[name]["random"].append(random)
    return {"rows": rows, "flagged": np.asarray(flagged), "area": float(np.mean(areas)), "count": len(areas)}


def face_swaps(model: ServedModel, swaps: Path, pairs: int) -> dict:
    detector = FaceDetector(num_threads=2)
    size = model.info.input_size
    shares, areas = [], []
    with open(swaps / "Test" / "pairs.csv") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if len(shares) >= pairs:
            break
        fake = np.asarray(Image.open(swaps / "Test" / row["fake"]).convert("RGB"))
        real = np.asarray(Image.open(swaps / "Test" / row["real"]).convert("RGB"))
        if fake.shape != real.shape:
            continue
        found = detector.detect(fake)[:1]
        if not found:
            continue
        fake_crop, real_crop = (crop_face(image, found[0].box, size=size) for image in (fake, real))
        differs = np.abs(fake_crop.astype(np.int16) - real_crop.astype(np.int16)).mean(axis=-1) > DIFF_LEVEL
        region = to_grid(differs.astype(np.float32))
        change = np.abs(occlusion_map(model, fake_crop).values - occlusion_map(model, real_crop).values)
        shares.append(_share(change, region))
        areas.append(float(region.mean()))
    return {"share": shares, "area": areas}


def cost(model: ServedModel, data: Path, faces: int) -> dict:
    test = find_splits(data)["Test"]
    crops = [np.asarray(Image.open(path).convert("RGB").resize((model.info.input_size,) * 2))
                      for path in test.paths[:faces]]
    explain_ms, score_ms = [], []
    for crop in crops:
        started = time.perf_counter()
        model.fake_probabilities(crop[None])
        score_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        occlusion_map(model, crop)
        explain_ms.append((time.perf_counter() - started) * 1000)
    return {"explain": explain_ms, "score": score_ms}


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=models.DEFAULT_MODEL_DIR)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/faces-gan"))
    parser.add_argument("--swaps", type=Path, default=Path("../shared/data/faces-swap"))
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--faces", type=int, default=30, help="faces timed for the cost per face")
    parser.add_argument("--no-gradient", action="store_true", help="skip the TensorFlow gradient method")
    args = parser.parse_args()
    model = ServedModel.load(args.model)
    print(f"model {model.version}; maps {GRID}×{GRID}\n")

    timing = cost(model, args.data, args.faces)
    print(f"cost per face ({args.faces} faces): explanation median {statistics.median(timing['explain']):.0f} ms, "
          f"p95 {_p95(timing['explain']):.0f} ms; scoring the same crop once (what a check pays) median "
          f"{statistics.median(timing['score']):.1f} ms, p95 {_p95(timing['score']):.1f} ms\n")

    blended = self_blended(model, args.data, args.count, None if args.no_gradient else GradientMap(args.model))
    flagged = blended["flagged"]
    print(f"self-blended fakes of faces-gan Test reals: {blended['count']} ({int(flagged.sum())} at or above the "
          f"threshold); the blend mask covers {blended['area']:.1%} of the crop on average")
    print(f"{'method':<40} {'share in mask':>13} {'(flagged)':>9} {'peak in mask':>12} "
          f"{'logit fall, top ¼ hidden':>24} {'random ¼':>9}")
    for name, row in blended["rows"].items():
        shares = np.asarray(row["share"])
        falls = f"{np.mean(row['top']):24.2f} {np.mean(row['random']):9.2f}" if row["top"] else f"{'—':>24} {'—':>9}"
        print(f"{name:<40} {np.nanmean(shares):13.3f} {np.nanmean(shares[flagged]):9.3f} "
              f"{np.mean(row['peak']):12.2f} {falls}")

    if args.swaps.is_dir():
        swaps = face_swaps(model, args.swaps, args.pairs)
        print(f"\nfaces-swap Test pairs: {len(swaps['share'])}; pixels that differ cover "
              f"{np.mean(swaps['area']):.1%} of the crop; share of |map(fake) − map(real)| there: "
              f"{np.nanmean(swaps['share']):.3f} (median {np.nanmedian(swaps['share']):.3f})")


if __name__ == "__main__":
    main()
