"""Retraining data: reviewed images as the crops the server scored (split by a stable hash), and the base data.

Every review item with a resolved label is one image (items are keyed by the image's sha256); gold tasks
(feedback/gold.py) are not, and the votes of reviewers held back by their gold answers (core/reviewers.py)
do not count. The
image is turned into exactly what the classifier saw when it was checked — its face crops
(core/crops.py), or the whole image squeezed when no face is found — and every crop
takes the image's label. Which side of the split an image lands on depends only on its sha256, so
an image never moves from the feedback holdout into training (or back) between runs.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from core.images import ImageStore
from core.outcomes import annotation_entries_of
from core.problems import Problem
from core.resolution import ReviewRule, resolve
from core.reviewers import votes_of_trusted
from core.settings import Settings
from core.store import Check, ReviewItem, Store
from models.data.pipeline import Split, find_splits

LABELS = {"real": 0, "fake": 1}
WORK_DIR = "retraining"             # <instance>/retraining/: crops of a run (deleted after it), synthetic base data
SPLIT_SALT = "dfg-feedback-holdout"   # never change: it would move images between train and holdout


def in_holdout(image_sha256: str, fraction: float) -> bool:
    """Whether an image belongs to the feedback holdout: a pure function of its sha256."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{image_sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


@dataclass(frozen=True)
class ReviewedImage:
    item_id: int
    image_sha256: str
    label: int          # 1 = fake
    check_id: str


def reviewed_images(store: Store, held_back: frozenset[int] = frozenset(),
                    rule: ReviewRule = ReviewRule()) -> list[ReviewedImage]:
    """Every image users sent that has a resolved label, oldest first; gold tasks never (feedback/gold.py).

    With `held_back` reviewers (core/reviewers.py), each image's label is resolved again from the other
    reviewers' votes by `rule`: an image only they labelled drops out, one they outvoted may get the others' label.
    """
    users = ReviewItem.gold_label.is_(None)
    with store.session() as session:
        if not held_back:
            rows = session.execute(select(ReviewItem.id, ReviewItem.image_sha256, ReviewItem.label, ReviewItem.check_id)
                                   .where(ReviewItem.label.in_(tuple(LABELS)), users).order_by(ReviewItem.id)).all()
            return [ReviewedImage(row.id, row.image_sha256, LABELS[row.label], row.check_id) for row in rows]
        rows = session.execute(select(ReviewItem.id, ReviewItem.image_sha256, ReviewItem.votes, ReviewItem.check_id,
                                      Check.fake_probability).join(Check, Check.id == ReviewItem.check_id)
                               .where(ReviewItem.reviewer_count > 0, users).order_by(ReviewItem.id)).all()
    labelled = ((row, resolve(votes_of_trusted(annotation_entries_of(row.votes), held_back), row.fake_probability,
                              rule).label) for row in rows)
    return [ReviewedImage(row.id, row.image_sha256, LABELS[label], row.check_id) for row, label in labelled
            if label in LABELS]


def labels_since(store: Store, since: datetime | None) -> int:
    """Resolved labels that arrived (or changed) after `since` (all of them when None)."""
    query = select(func.count()).select_from(ReviewItem).where(ReviewItem.label.in_(tuple(LABELS)),
                                                               ReviewItem.gold_label.is_(None))
    if since is not None:
        query = query.where(ReviewItem.resolved_at > since)
    with store.session() as session:
        return int(session.scalar(query) or 0)


@dataclass
class FeedbackSet:
    """Crops of reviewed images on both sides of the split."""

    train: Split = field(default_factory=Split)
    holdout: Split = field(default_factory=Split)
    holdout_groups: list[int] = field(default_factory=list)   # image index of each holdout crop
    holdout_labels: list[int] = field(default_factory=list)   # one per held-out image
    train_items: list[int] = field(default_factory=list)
    holdout_items: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)          # items whose image bytes are gone or unreadable

    def describe(self) -> dict:
        return {"labels": len(self.train_items) + len(self.holdout_items),
                "train_images": len(self.train_items), "train_crops": len(self.train.paths),
                "train_balance": self.train.balance(),
                "holdout_images": len(self.holdout_items), "holdout_crops": len(self.holdout.paths),
                "holdout_balance": {"Real": self.holdout_labels.count(0), "Fake": self.holdout_labels.count(1)},
                "missing_images": len(self.missing),
                "train_items": self.train_items, "holdout_items": self.holdout_items}


def crops_of(data: bytes, size: int, faces, max_faces: int, max_pixels: int) -> np.ndarray:
    """What the server's detector scores for these image bytes: N×size×size×3 uint8 crops."""
    from core.check import served_crops
    from core.intake import decode_image

    image = decode_image(data, max_pixels)
    return served_crops(image.rgb, faces.detect(image.rgb)[:max_faces], size)


def build_feedback_set(reviewed: list[ReviewedImage], images: ImageStore, folder: Path, size: int, faces,
                       holdout_fraction: float, max_faces: int = 8, max_pixels: int = 50_000_000) -> FeedbackSet:
    """Write every reviewed image's crops as PNG files under `folder` and index them.

    Args:
        reviewed: the labelled images (reviewed_images()).
        images: where their bytes are kept (images/kept in the instance folder).
        folder: an empty working folder for the crop files.
        size: the model's input size.
        faces: the face detector (core.faces.FaceDetector).
        holdout_fraction: the share of images held out (by in_holdout).
    """
    result = FeedbackSet()
    for image in reviewed:
        data = images.read(image.image_sha256)
        try:
            crops = crops_of(data, size, faces, max_faces, max_pixels) if data is not None else None
        except Problem:   # stored bytes the intake now refuses (damaged on disk): skipped and counted as missing
            crops = None
        if crops is None:
            result.missing.append(image.item_id)
            continue
        holdout = in_holdout(image.image_sha256, holdout_fraction)
        side = "holdout" if holdout else "train"
        target = folder / side / ("Fake" if image.label else "Real")
        target.mkdir(parents=True, exist_ok=True)
        for index, crop in enumerate(crops):
            path = target / f"{image.image_sha256}-{index}.png"
            Image.fromarray(crop).save(path)   # lossless: the model's own data rule applies later
            (result.holdout if holdout else result.train).add(path, image.label, folder / "no-masks")
            if holdout:
                result.holdout_groups.append(len(result.holdout_items))
        if holdout:
            result.holdout_items.append(image.item_id)
            result.holdout_labels.append(image.label)
        else:
            result.train_items.append(image.item_id)
    return result


class RetrainError(RuntimeError):
    """A retraining that cannot run as configured (e.g. base data without a test split)."""


@dataclass
class BaseData:
    train: Split
    validation: Split
    holdout: Split
    description: dict


def base_data(settings: Settings, progress: Callable[[str], None], face_crop: bool = False, size: int = 256) -> BaseData:
    """DFG_BASE_DATA_DIR's Train/Validation/Test, or synthetic data and the synthetic holdout (cached).

    With `face_crop` (the champion was trained on the server's face crops, models.data.prepare) every base
    image goes through that crop too, like the reviewed images do.
    """
    data = _base_files(settings, progress)
    if not face_crop:
        return data
    from models.data.prepare import Preparer

    progress("base data: cropping faces as served (cached)")
    preparer = Preparer(settings.instance_path() / WORK_DIR, size)
    return BaseData(preparer.split(data.train, "Train"), preparer.split(data.validation, "Validation"),
                    preparer.split(data.holdout, "Test"), {**data.description, "face_crop": True})


def _base_files(settings: Settings, progress: Callable[[str], None]) -> BaseData:
    if settings.base_data_dir:
        root = Path(settings.base_data_dir)
        if not root.is_dir():
            raise RetrainError(f"DFG_BASE_DATA_DIR={root} is not a folder")
        splits = find_splits(root)
        empty = [name for name, split in splits.items() if not split.paths]
        if empty:
            raise RetrainError(f"{root}: the base data needs Train, Validation and Test images (Test is the fixed "
                               f"base holdout of the gate); {', '.join(empty)} has none")
        return BaseData(splits["Train"], splits["Validation"], splits["Test"],
                        {"kind": "folder", "path": str(root),
                         "balance": {name: split.balance() for name, split in splits.items()}})
    from models.data.synthetic_sets import SYNTHETIC_HOLDOUT_COUNTS, SYNTHETIC_HOLDOUT_SEED, SYNTHETIC_SEED, synthetic_data

    cache = settings.instance_path() / WORK_DIR / "synthetic"
    count = settings.retrain_synthetic_count
    counts = {"Train": count, "Validation": max(20, count // 5)}
    progress(f"base data: synthetic, {count} training images per class (DFG_BASE_DATA_DIR is unset)")
    splits = find_splits(synthetic_data(SYNTHETIC_SEED, counts, cache))
    holdout = find_splits(synthetic_data(SYNTHETIC_HOLDOUT_SEED, SYNTHETIC_HOLDOUT_COUNTS, cache))["Test"]
    return BaseData(splits["Train"], splits["Validation"], holdout,
                    {"kind": "synthetic", "seed": SYNTHETIC_SEED, "counts_per_class": counts,
                     "holdout_seed": SYNTHETIC_HOLDOUT_SEED, "holdout_counts_per_class": SYNTHETIC_HOLDOUT_COUNTS})


def combined(base: Split, feedback: Split, feedback_weight: float) -> tuple[Split, list[float]]:
    """Base training data plus the feedback-train crops, and per-example weights (feedback weighs more)."""
    split = Split(paths=base.paths + feedback.paths, labels=base.labels + feedback.labels,
                  masks=(base.masks or [""] * len(base.paths)) + [""] * len(feedback.paths))
    return split, [1.0] * len(base.paths) + [feedback_weight] * len(feedback.paths)
