"""Training examples from reviewed labels: the crops the server scored, split by a stable hash.

Every review item with a resolved label is one image (items are keyed by the image's sha256). The
image is turned into exactly what the classifier saw when it was checked — its face crops
(server/detector/crops.py), or the whole image squeezed when no face is found — and every crop
takes the image's label. Which side of the split an image lands on depends only on its sha256, so
an image never moves from the feedback holdout into training (or back) between runs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from models.data import Split
from server.images import ImageStore
from server.store import ReviewItem, Store

LABELS = {"real": 0, "fake": 1}
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


def reviewed_images(store: Store) -> list[ReviewedImage]:
    """Every review item with a resolved label, oldest first."""
    with store.session() as session:
        rows = session.execute(select(ReviewItem.id, ReviewItem.image_sha256, ReviewItem.label, ReviewItem.check_id)
                               .where(ReviewItem.label.in_(tuple(LABELS))).order_by(ReviewItem.id)).all()
    return [ReviewedImage(row.id, row.image_sha256, LABELS[row.label], row.check_id) for row in rows]


def labels_since(store: Store, since: datetime | None) -> int:
    """Resolved labels that arrived (or changed) after `since` (all of them when None)."""
    query = select(func.count()).select_from(ReviewItem).where(ReviewItem.label.in_(tuple(LABELS)))
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
    from server.detector.crops import crop_face
    from server.detector.pipeline import whole_image
    from server.intake import decode_image

    image = decode_image(data, max_pixels)
    found = faces.detect(image.rgb)[:max_faces]
    if not found:
        return whole_image(image.rgb, size)[None]
    return np.stack([crop_face(image.rgb, face.box, size=size) for face in found])


def build_feedback_set(reviewed: list[ReviewedImage], images: ImageStore, folder: Path, size: int, faces,
                       holdout_fraction: float, max_faces: int = 8, max_pixels: int = 50_000_000) -> FeedbackSet:
    """Write every reviewed image's crops as PNG files under `folder` and index them.

    Args:
        reviewed: the labelled images (reviewed_images()).
        images: where their bytes are kept (images/kept in the instance folder).
        folder: an empty working folder for the crop files.
        size: the model's input size.
        faces: the face detector (server.detector.faces.FaceDetector).
        holdout_fraction: the share of images held out (by in_holdout).
    """
    result = FeedbackSet()
    for image in reviewed:
        data = images.read(image.image_sha256)
        try:
            crops = crops_of(data, size, faces, max_faces, max_pixels) if data is not None else None
        except Exception:   # bytes that no longer decode: skipped and counted, like missing ones
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
