"""Synthetic real/fake training data for the demo model, made from photos that installed packages ship.

REAL: random crops of the photos (random scale and aspect, flips, mild camera-like blur or
sharpening, small colour/brightness jitter) resized to 256². FAKE: a real example made the same
way, then one or two manipulations from `models.data.manipulations`. Both classes end with the same
JPEG encode, whose settings are drawn from a stream that does not know the label (image i of
Real and image i of Fake in a split share quality and subsampling), so the file format cannot
give the label away. Everything is seeded: the same seed gives byte-identical files.

    python -m models.data.synthetic OUT_DIR --train 2000 --validation 300 --test 300 --seed 0
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import functools
import importlib.util
import io
import json
import math
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from models.data import manipulations as manip

SPLITS = ("Train", "Validation", "Test")
LABELS = ("Real", "Fake")
MASKS = "Masks"                # DIR/{split}/Masks/NNNNN.png: the changed region of Fake/NNNNN.jpg
# (package, path inside it). Natural photos only: synthetic graphics (color.png, phantom.png, the
# horse silhouette) and grey textures would teach nothing about photos. camera.png stays in as the
# one greyscale photo; its fakes are turned grey again so colour cannot give them away.
PHOTO_FILES = {
    "astronaut": ("skimage", "data/astronaut.png"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    "chelsea": ("skimage", "data/chelsea.png"),
    "coffee": ("skimage", "data/coffee.png"),
    "rocket": ("skimage", "data/rocket.jpg"),
    "motorcycle_left": ("skimage", "data/motorcycle_left.png"),
    "motorcycle_right": ("skimage", "data/motorcycle_right.png"),
    "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg"),
    "retina": ("skimage", "data/retina.jpg"),
    "ihc": ("skimage", "data/ihc.png"),
    "camera": ("skimage", "data/camera.png"),
    "china": ("sklearn", "datasets/images/china.jpg"),
    "flower": ("sklearn", "datasets/images/flower.jpg"),
}
# The product classifies face crops, so the two portraits are drawn more often (same in both classes).
PHOTO_WEIGHTS = {"astronaut": 3.0, "grace_hopper": 3.0}
# Inner face (brows to chin, cheek to cheek) as (x, y, w, h) in the original photo, measured by eye.
FACE_BOXES = {"astronaut": (182, 72, 88, 108), "grace_hopper": (178, 160, 170, 178)}
FACE_MARGIN = 0.3             # context kept around a donor face, as a fraction of its box
FACE_CROP_PROBABILITY = 0.6   # portraits: share of crops framed on the face, like the detector's crops
MIN_CROP_FRACTION = 0.8       # crop side >= 0.8 × output: reals are never upsampled by more than 1.25×
JPEG_QUALITY = (70, 98)       # inclusive; the same for both classes
SUBSAMPLING_444_PROBABILITY = 0.25  # otherwise 4:2:0
MIN_CHANGE = 5.0              # mean |Δ| (grey levels) a manipulation must make in its region
MANIPULATION_WEIGHTS = {"region_swap": 0.2, "copy_move": 0.15, "upsample": 0.25, "resample": 0.18,
                        "color_mismatch": 0.22}
FACE_SWAP_WEIGHT = 0.5        # share of face_swap when the crop shows a portrait's face
TWO_MANIPULATIONS_PROBABILITY = 0.3
_ENCODE_STREAM = 7            # key of the label-blind stream that draws the JPEG settings


@dataclass(frozen=True)
class _Base:
    image: np.ndarray          # size×size×3 uint8
    name: str                  # source photo
    face_box: tuple | None     # (x, y, w, h) in the crop, when a whole face is in it
    grey: bool


@functools.lru_cache(maxsize=1)
def _load_photos() -> tuple[tuple[str, np.ndarray], ...]:
    photos = []
    for name, (package, relative) in PHOTO_FILES.items():
        # find_spec locates the package without importing it (and without any data fetcher).
        root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
        with Image.open(root / relative) as image:
            array = np.asarray(image.convert("RGB"))
        array.setflags(write=False)
        photos.append((name, array))
    return tuple(photos)


def sample_photos() -> list[tuple[str, np.ndarray]]:
    """The package photos used, as (name, read-only RGB uint8 array)."""
    return list(_load_photos())


def _crop_box(rng: np.random.Generator, shape, face_box, size: int) -> tuple[float, float, float, float]:
    height, width = shape[:2]
    short = min(height, width)
    if face_box is not None and rng.random() < FACE_CROP_PROBABILITY:
        fx, fy, fw, fh = face_box
        side = max(fw, fh) * rng.uniform(1.7, 2.8)
        cx, cy = fx + fw / 2 + rng.normal(0, 0.08 * fw), fy + fh / 2 + rng.normal(0, 0.08 * fh)
    else:
        side = rng.uniform(max(MIN_CROP_FRACTION * size, 0.3 * short), short)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    aspect = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))  # the no-face path squashes images
    stretch = math.sqrt(max(aspect, 1 / aspect))  # keeps the shorter crop side >= MIN_CROP_FRACTION × size
    side = float(np.clip(side, MIN_CROP_FRACTION * size * stretch, short))
    crop_w, crop_h = min(side * math.sqrt(aspect), width), min(side / math.sqrt(aspect), height)
    x0 = float(np.clip(cx - crop_w / 2, 0, width - crop_w))
    y0 = float(np.clip(cy - crop_h / 2, 0, height - crop_h))
    return x0, y0, crop_w, crop_h


def _camera_look(rng: np.random.Generator, image: Image.Image, grey: bool) -> np.ndarray:
    """Mild blur or sharpening and colour/brightness jitter: variety that both classes share."""
    roll = rng.random()
    if roll < 0.25:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    elif roll < 0.4:
        image = image.filter(ImageFilter.UnsharpMask(rng.uniform(1.0, 2.0), int(rng.integers(30, 90)), 2))
    pixels = np.asarray(image).astype(np.float32) / 255.0
    gains = rng.uniform(0.96, 1.04, size=3)
    if grey:
        gains[:] = gains[0]
    mean = pixels.mean()
    pixels = (pixels - mean) * rng.uniform(0.92, 1.08) + mean  # contrast
    pixels = np.clip(pixels, 0, 1) ** math.exp(rng.uniform(-0.1, 0.1)) * gains + rng.uniform(-0.03, 0.03)
    return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)


def _make_base(rng: np.random.Generator, photos, size: int, index: int | None = None) -> _Base:
    if index is None:
        weights = np.array([PHOTO_WEIGHTS.get(name, 1.0) for name, _ in photos])
        index = int(rng.choice(len(photos), p=weights / weights.sum()))
    name, photo = photos[index]
    grey = bool(np.array_equal(photo[..., 0], photo[..., 1]) and np.array_equal(photo[..., 1], photo[..., 2]))
    source_face = FACE_BOXES.get(name)
    x0, y0, crop_w, crop_h = _crop_box(rng, photo.shape, source_face, size)
    method = [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS][int(rng.integers(3))]
    crop = Image.fromarray(photo).resize((size, size), method, box=(x0, y0, x0 + crop_w, y0 + crop_h))
    flip = rng.random() < 0.5
    if flip:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    face_box = None
    if source_face is not None:
        sx, sy = size / crop_w, size / crop_h
        fx, fy = (source_face[0] - x0) * sx, (source_face[1] - y0) * sy
        fw, fh = source_face[2] * sx, source_face[3] * sy
        if flip:
            fx = size - fx - fw
        if fx >= -2 and fy >= -2 and fx + fw <= size + 2 and fy + fh <= size + 2:
            face_box = (fx, fy, fw, fh)
    return _Base(_camera_look(rng, crop, grey), name, face_box, grey)


def _donor_face(rng: np.random.Generator, photos, target: str) -> np.ndarray:
    """A face crop with FACE_MARGIN context: the other portrait's face, or this face flipped and turned."""
    by_name = dict(photos)
    others = [name for name in FACE_BOXES if name != target and name in by_name]
    transformed = not others or rng.random() < 0.4
    source = target if transformed else others[int(rng.integers(len(others)))]
    fx, fy, fw, fh = FACE_BOXES[source]
    box = (fx - FACE_MARGIN * fw, fy - FACE_MARGIN * fh, fx + fw * (1 + FACE_MARGIN), fy + fh * (1 + FACE_MARGIN))
    face = Image.fromarray(by_name[source]).crop(tuple(round(v) for v in box))
    return manip.turned_face(rng, np.asarray(face)) if transformed else np.asarray(face)


def _apply(rng: np.random.Generator, kind: str, base: _Base, image: np.ndarray, photos, size: int):
    if kind == "face_swap":
        donor = _donor_face(rng, photos, base.name)
        return (*manip.face_swap(rng, image, base.face_box, donor, FACE_MARGIN), kind)
    if kind == "region_swap":
        others = [i for i, (name, _) in enumerate(photos) if name != base.name] or [0]
        donor = _make_base(rng, photos, size, others[int(rng.integers(len(others)))]).image
        return (*manip.region_swap(rng, image, donor), kind)
    if kind == "copy_move":
        return (*manip.copy_move(rng, image), kind)
    if kind == "upsample":
        return manip.random_upsample(rng, image, base.face_box)
    if kind == "resample":
        return (*manip.resample(rng, image, base.face_box), kind)
    return (*manip.color_mismatch(rng, image, base.face_box), kind)


def _manipulate(rng: np.random.Generator, base: _Base, photos, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Apply one or two manipulations. Returns the fake, where it was changed (H×W 0..1), and how."""
    weights = dict(MANIPULATION_WEIGHTS)
    if base.face_box is not None:
        weights = {kind: w * (1 - FACE_SWAP_WEIGHT) / sum(weights.values()) for kind, w in weights.items()}
        weights["face_swap"] = FACE_SWAP_WEIGHT
    kinds, probabilities = list(weights), np.array(list(weights.values()))
    count = 2 if rng.random() < TWO_MANIPULATIONS_PROBABILITY else 1
    chosen = rng.choice(len(kinds), size=count, replace=False, p=probabilities / probabilities.sum())
    image, names = base.image, []
    changed = np.zeros(base.image.shape[:2], np.float32)
    for kind in (kinds[i] for i in chosen):
        for _attempt in range(6):  # redraw a change too faint to see (e.g. sky pasted over sky)
            candidate, mask, name = _apply(rng, kind, base, image, photos, size)
            if base.grey:
                candidate = manip.to_grey(candidate)
            change = np.abs(candidate.astype(np.float32) - image).mean(axis=2)
            if (change * mask).sum() / max(mask.sum(), 1.0) >= MIN_CHANGE:
                break
        image = candidate
        changed = np.maximum(changed, mask)
        names.append(name)
    return image, changed, "+".join(names)


def make_real(rng: np.random.Generator, photos, size: int = 256) -> np.ndarray:
    """A real example (uint8 size×size×3), before the final JPEG encode."""
    return _make_base(rng, photos, size).image


def make_pair(rng: np.random.Generator, photos, size: int = 256) -> tuple[np.ndarray, np.ndarray, str]:
    """A real example, the fake made from it, and the manipulation name(s) joined by '+'."""
    base = _make_base(rng, photos, size)
    fake, _, how = _manipulate(rng, base, photos, size)
    return base.image, fake, how


def make_fake(rng: np.random.Generator, photos, size: int = 256) -> tuple[np.ndarray, str]:
    """A fake example (uint8 size×size×3) before the final encode, and the manipulation name(s)."""
    _, fake, how = make_pair(rng, photos, size)
    return fake, how


def encode_jpeg(image: np.ndarray, rng: np.random.Generator) -> tuple[bytes, int]:
    """The final step for both classes: JPEG at a random quality/subsampling. Returns (bytes, quality)."""
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    subsampling = 0 if rng.random() < SUBSAMPLING_444_PROBABILITY else 2
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality, subsampling=subsampling,
                                optimize=False, progressive=False)
    return buffer.getvalue(), quality


def _rng(*key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))


def _write_one(job: tuple) -> dict:
    out_dir, seed, size, split, label, index = job
    split_key, label_key = SPLITS.index(split), LABELS.index(label)
    content_rng = _rng(seed, split_key, label_key, index)
    photos = _load_photos()
    base = _make_base(content_rng, photos, size)
    if label == "Real":
        image, changed, how = base.image, None, ""
    else:
        image, changed, how = _manipulate(content_rng, base, photos, size)
    data, quality = encode_jpeg(image, _rng(seed, split_key, _ENCODE_STREAM, index))
    path = Path(out_dir) / split / label / f"{index:05d}.jpg"
    path.write_bytes(data)
    if changed is not None:  # where the fake was changed: extra supervision for training (models.data.pipeline)
        Image.fromarray(np.round(changed * 255).astype(np.uint8), "L").save(
            Path(out_dir) / split / MASKS / f"{index:05d}.png")
    return {"split": split, "label": label, "file": f"{split}/{label}/{path.name}", "photo": base.name,
            "manipulation": how, "jpeg_quality": quality}


def write_dataset(out_dir, counts: dict[str, int], seed: int, size: int = 256, progress: bool = True,
                  workers: int | None = None) -> dict:
    """Write out_dir/{split}/{Real,Fake}/NNNNN.jpg, `counts[split]` images per class.

    Args:
        out_dir: target folder; its class folders must not already hold images.
        counts: images per class for each split, e.g. {"Train": 2000, "Validation": 300, "Test": 300}.
        seed: the dataset seed; another seed gives a disjoint draw of the same generator.
        workers: processes (default: all cores); the files do not depend on it.
    Returns:
        Summary: seed, size, counts, manipulation histogram, seconds (also saved as summary.json,
        with a per-file manifest.csv).
    """
    unknown = set(counts) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; use {list(SPLITS)}")
    out_dir = Path(out_dir)
    for split in counts:
        for label in LABELS:
            folder = out_dir / split / label
            if folder.is_dir() and any(folder.glob("*.jpg")):
                raise FileExistsError(f"{folder} already holds images; write to an empty folder")
            folder.mkdir(parents=True, exist_ok=True)
        (out_dir / split / MASKS).mkdir(parents=True, exist_ok=True)
    jobs = [(str(out_dir), seed, size, split, label, i)
            for split, n in counts.items() for label in LABELS for i in range(n)]
    workers = workers or os.cpu_count() or 1
    started, rows = time.monotonic(), []
    step = max(1, len(jobs) // 20)
    # Spawned (not forked) workers: safe even when the caller has TensorFlow loaded.
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) \
        if workers > 1 else None
    try:
        for row in pool.map(_write_one, jobs, chunksize=8) if pool else map(_write_one, jobs):
            rows.append(row)
            if progress and (len(rows) % step == 0 or len(rows) == len(jobs)):
                elapsed = time.monotonic() - started
                print(f"synthetic: {len(rows)}/{len(jobs)} images, {elapsed:.0f} s "
                      f"({len(rows) / max(elapsed, 1e-9):.0f}/s)", flush=True)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    histogram = collections.Counter(n for row in rows for n in row["manipulation"].split("+") if n)
    summary = {"seed": seed, "size": size, "counts": {s: {label: n for label in LABELS} for s, n in counts.items()},
               "manipulations": dict(sorted(histogram.items())),
               "combinations": dict(collections.Counter(r["manipulation"] for r in rows if r["manipulation"])),
               "photos": list(PHOTO_FILES), "jpeg_quality": list(JPEG_QUALITY),
               "seconds": round(time.monotonic() - started, 1)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    with open(out_dir / "manifest.csv", "w") as manifest:
        manifest.write("file,label,photo,manipulation,jpeg_quality\n")
        manifest.writelines(f"{r['file']},{r['label']},{r['photo']},{r['manipulation']},{r['jpeg_quality']}\n"
                            for r in rows)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic real/fake demo dataset.")
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--validation", type=int, default=300)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    counts = {"Train": args.train, "Validation": args.validation, "Test": args.test}
    summary = write_dataset(args.out_dir, counts, args.seed, args.size, workers=args.workers)
    print(json.dumps(summary["manipulations"], indent=2))


if __name__ == "__main__":
    main()
