"""Training data: image files in the seed's layout → tf.data pipelines.

Layout: DIR/{Train,Validation,Test}/{Real,Fake}/* (the seed's), or a flat DIR/{Real,Fake}/* that is
split by a seeded shuffle. Labels: Fake = 1, Real = 0 (the model outputs P(fake)).

The format-shortcut rule: when real and fake images come from different sources they often differ
in format (PNG fakes, JPEG reals) or JPEG quality, and a model learns that instead of the
manipulation. So user data is re-encoded: every image, real or fake, is resized to the input size
and encoded once more as JPEG at one fixed quality (REENCODE_QUALITY) before training, evaluation
and serving (the model's metadata records the quality; the server applies it to every crop).
The synthetic demo data needs no re-encode: its generator already encodes both classes alike.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.served_model import reencode_jpeg

SPLITS = ("Train", "Validation", "Test")
CLASSES = {"Real": 0, "Fake": 1}
MASKS = "Masks"  # optional: <split>/Masks/<stem>.png marks where Fake/<stem>.* was changed
# Optional: DIR/manifest.csv with columns `file` (relative to DIR) and `manipulation` (what made
# that fake; the synthetic generator writes one). Evaluation then reports ROC AUC per kind of fake.
MANIFEST = "manifest.csv"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
FLAT_SPLIT = {"Train": 0.8, "Validation": 0.1, "Test": 0.1}
REENCODE_QUALITY = 90   # the fixed JPEG quality of the format-shortcut rule
IMBALANCE_TOLERANCE = 0.1  # class weights when the minority class is < (1 - this) × the majority


@dataclass
class Split:
    """The files of one split and their labels (1 = fake)."""

    paths: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)   # "" where there is no mask file
    kinds: list[str] = field(default_factory=list)   # what made each fake ("" where unknown, and for reals)

    def add(self, path: Path, label: int, mask_dir: Path, kind: str = "") -> None:
        mask = mask_dir / f"{path.stem}.png"
        self.paths.append(str(path))
        self.labels.append(label)
        self.masks.append(str(mask) if label and mask.is_file() else "")
        self.kinds.append(kind if label else "")

    def add_prepared(self, path: str, label: int, mask: str, kind: str) -> None:
        """Add a file whose mask (or "") and kind are already known."""
        self.paths.append(path)
        self.labels.append(label)
        self.masks.append(mask)
        self.kinds.append(kind)

    def kind_list(self) -> list[str]:
        """`kinds`, or all "" for a split built without them."""
        return self.kinds if len(self.kinds) == len(self.paths) else [""] * len(self.paths)

    def balance(self) -> dict[str, int]:
        fake = int(sum(self.labels))
        return {"Real": len(self.labels) - fake, "Fake": fake}


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _stable_fraction(path: Path, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{path.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def read_manifest(root: Path) -> dict[str, str]:
    """file (relative to root, "/"-separated) → manipulation, from root/manifest.csv.

    {} without one, or when it lacks those two columns (a data set may ship a manifest of its own).
    """
    path = root / MANIFEST
    if not path.is_file():
        return {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"file", "manipulation"} <= set(reader.fieldnames or ()):
            return {}
        return {row["file"]: row["manipulation"] or "" for row in reader}


def find_splits(data_dir: str | Path, seed: int = 1337) -> dict[str, Split]:
    """Index a data folder.

    Args:
        data_dir: a folder in the seed's layout or a flat {Real,Fake} folder.
        seed: the split seed for a flat folder (a file's split depends only on its name and the seed).

    Returns:
        Split name → files and labels. Raises ValueError for a folder without images.
    """
    root = Path(data_dir)
    splits = {name: Split() for name in SPLITS}
    kinds = read_manifest(root)
    if any((root / name).is_dir() for name in SPLITS):
        for name in SPLITS:
            for class_name, label in CLASSES.items():
                for path in _images_in(root / name / class_name):
                    splits[name].add(path, label, root / name / MASKS, kinds.get(f"{name}/{class_name}/{path.name}", ""))
    else:
        for class_name, label in CLASSES.items():
            for path in _images_in(root / class_name):
                fraction, start = _stable_fraction(path, seed), 0.0
                for name, share in FLAT_SPLIT.items():
                    if fraction < start + share or name == "Test":
                        splits[name].add(path, label, root / MASKS, kinds.get(f"{class_name}/{path.name}", ""))
                        break
                    start += share
    if not splits["Train"].paths and not splits["Test"].paths:
        raise ValueError(f"{root}: no images found; expected {root}/Train/Real/*.jpg … or {root}/Real/*.jpg")
    return splits


def class_weights(split: Split) -> dict[int, float] | None:
    """Balanced weights (n / (2 × n_class)) when the classes are unbalanced, else None.

    Without them a model trained on 90% fakes learns to say "fake"; with them each class carries
    half of the loss.
    """
    counts = split.balance()
    real, fake = counts["Real"], counts["Fake"]
    if not real or not fake or min(real, fake) >= (1 - IMBALANCE_TOLERANCE) * max(real, fake):
        return None
    total = real + fake
    return {0: total / (2 * real), 1: total / (2 * fake)}


def example_weights(split: Split, base: list[float] | None = None) -> tuple[list[float] | None, dict | None]:
    """Per-example training weights: `base` (if any) times the class weight. Returns (weights, class weights)."""
    weights = class_weights(split)
    if weights is None:
        return base, None
    base = base or [1.0] * len(split.labels)
    return [w * weights[label] for w, label in zip(base, split.labels)], weights


def load_image(path: str, size: int, reencode_quality: int | None = None) -> np.ndarray:
    """One file → size×size×3 uint8 RGB (bilinear resize; then the format-shortcut rule, if asked)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.size != (size, size):
            image = image.resize((size, size), Image.BILINEAR)
        pixels = np.asarray(image)
    return reencode_jpeg(pixels[None], reencode_quality)[0] if reencode_quality else pixels


def load_images(paths: list[str], size: int, reencode_quality: int | None = None) -> np.ndarray:
    """Decode files to an N×size×size×3 uint8 array (evaluation; training decodes with the same function).

    Args:
        paths: image files.
        size: square side they are resized to.
        reencode_quality: apply the format-shortcut rule (JPEG at this quality after resizing).
    """
    out = np.empty((len(paths), size, size, 3), np.uint8)
    for index, path in enumerate(paths):
        out[index] = load_image(path, size, reencode_quality)
    return out


def dataset(split: Split, size: int, batch_size: int, training: bool, seed: int,
            augment: str = "web", sample_weights: list[float] | None = None, map_size: int | None = None,
            reencode_quality: int | None = None):
    """A tf.data pipeline: parallel decode → cache → (shuffle, augment) → batch → prefetch.

    Args:
        split: files and labels.
        size: square side the images are resized to.
        batch_size: batch size.
        training: shuffle and augment when true.
        seed: seeds the shuffle and every augmentation (stateless ops, so runs repeat).
        augment: "none", "flip", "seed" (flip, rotation, zoom, contrast) or "web" (seed + JPEG, blur,
            rescale, tint).
        sample_weights: optional per-example weights (feedback examples weigh more in retraining).
        map_size: also yield a map_size² target of where each image was changed (mask files; all
            ones for a fake without one, zeros for a real image), for models.training.architectures.with_map_head.
        reencode_quality: the format-shortcut rule: JPEG-encode every resized image at this quality
            (before augmentation, for both classes).

    Yields:
        (images uint8→float32, label or {"fake_probability", "fake_map"}, weight or the same dict).
    """
    import tensorflow as tf

    from models.data.augment import augment_batch, augment_image, seed_geometry

    autotune = tf.data.AUTOTUNE
    weights = sample_weights or [1.0] * len(split.paths)
    masks = split.masks or [""] * len(split.paths)
    files = tf.data.Dataset.from_tensor_slices((split.paths, masks, np.asarray(split.labels, np.float32),
                                                np.asarray(weights, np.float32)))

    def decode(path, mask_path, label, weight):
        # PIL through numpy_function, the very code evaluation uses (load_image): training and
        # evaluation see the same pixels. It runs once per file: the decoded images are cached.
        image = tf.numpy_function(lambda name: load_image(name.decode(), size, reencode_quality), [path], tf.uint8,
                                  stateful=False)
        image.set_shape([size, size, 3])
        mask = tf.cond(tf.equal(mask_path, ""),
                       lambda: tf.fill([size, size, 1], tf.cast(label * 255, tf.uint8)),
                       lambda: tf.image.resize(tf.io.decode_png(tf.io.read_file(mask_path), channels=1),
                                               (size, size), method="nearest"))
        return image, mask, label, weight

    data = files.map(decode, num_parallel_calls=autotune).cache()
    if training:
        data = data.shuffle(len(split.paths), seed=seed, reshuffle_each_iteration=True)
        if augment != "none":
            seeds = tf.data.Dataset.random(seed=seed).batch(2)
            data = tf.data.Dataset.zip((data, seeds)).map(
                lambda item, pair: augment_image(item, pair, augment), num_parallel_calls=autotune)
    data = data.batch(batch_size)
    if training and augment in ("seed", "web"):
        geometry = seed_geometry(seed)
        batch_seeds = tf.data.Dataset.random(seed=seed + 1).batch(2)
        data = tf.data.Dataset.zip((data, batch_seeds)).map(
            lambda item, pair: augment_batch(item, pair, geometry), num_parallel_calls=autotune)

    def targets(images, mask, label, weight):
        images = tf.cast(images, tf.float32)
        if map_size is None:
            return images, label, weight
        changed = tf.image.resize(tf.cast(mask, tf.float32) / 255.0, (map_size, map_size), method="area")
        return images, {"fake_probability": label, "fake_map": changed}, \
            {"fake_probability": weight, "fake_map": weight[:, None, None]}  # per-cell losses: B×m×m

    return data.map(targets, num_parallel_calls=autotune).prefetch(autotune)
