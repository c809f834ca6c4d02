"""Training data: image files in the seed's layout → tf.data pipelines.

Layout: DIR/{Train,Validation,Test}/{Real,Fake}/* (the seed's), or a flat DIR/{Real,Fake}/* that is
split by a seeded shuffle. Labels: Fake = 1, Real = 0 (the model outputs P(fake)).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("Train", "Validation", "Test")
CLASSES = {"Real": 0, "Fake": 1}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
FLAT_SPLIT = {"Train": 0.8, "Validation": 0.1, "Test": 0.1}


@dataclass
class Split:
    """The files of one split and their labels (1 = fake)."""

    paths: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

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
    if any((root / name).is_dir() for name in SPLITS):
        for name in SPLITS:
            for class_name, label in CLASSES.items():
                for path in _images_in(root / name / class_name):
                    splits[name].paths.append(str(path))
                    splits[name].labels.append(label)
    else:
        for class_name, label in CLASSES.items():
            for path in _images_in(root / class_name):
                fraction, start = _stable_fraction(path, seed), 0.0
                for name, share in FLAT_SPLIT.items():
                    if fraction < start + share or name == "Test":
                        splits[name].paths.append(str(path))
                        splits[name].labels.append(label)
                        break
                    start += share
    if not splits["Train"].paths and not splits["Test"].paths:
        raise ValueError(f"{root}: no images found; expected {root}/Train/Real/*.jpg … or {root}/Real/*.jpg")
    return splits


def load_images(paths: list[str], size: int) -> np.ndarray:
    """Decode files to an N×size×size×3 uint8 array (for evaluation outside tf.data)."""
    from PIL import Image

    out = np.empty((len(paths), size, size, 3), np.uint8)
    for index, path in enumerate(paths):
        with Image.open(path) as image:
            image = image.convert("RGB")
            if image.size != (size, size):
                image = image.resize((size, size), Image.BILINEAR)
            out[index] = np.asarray(image)
    return out


def dataset(split: Split, size: int, batch_size: int, training: bool, seed: int,
            augment: str = "web", sample_weights: list[float] | None = None):
    """A tf.data pipeline: parallel decode → cache → (shuffle, augment) → batch → prefetch.

    Args:
        split: files and labels.
        size: square side the images are resized to.
        batch_size: batch size.
        training: shuffle and augment when true.
        seed: seeds the shuffle and every augmentation (stateless ops, so runs repeat).
        augment: "none", "seed" (flip, rotation, zoom, contrast) or "web" (seed + JPEG, blur, rescale, tint).
        sample_weights: optional per-example weights (feedback examples weigh more in retraining).
    """
    import tensorflow as tf

    from .augment import augment_batch, augment_image, seed_geometry

    autotune = tf.data.AUTOTUNE
    weights = sample_weights or [1.0] * len(split.paths)
    files = tf.data.Dataset.from_tensor_slices((split.paths, np.asarray(split.labels, np.float32),
                                                np.asarray(weights, np.float32)))

    def decode(path, label, weight):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        image = tf.cast(tf.image.resize(image, (size, size), antialias=True) + 0.5, tf.uint8)
        return image, label, weight

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
            lambda item, pair: (augment_batch(item[0], pair, geometry), item[1], item[2]))
    data = data.map(lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=autotune)
    return data.prefetch(autotune)
