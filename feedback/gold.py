"""Gold tasks: images whose label is known, mixed into the review queue to measure each reviewer.

`deepfake-guard review gold add FOLDER` checks every image of FOLDER/Real and FOLDER/Fake with the model the
server serves, exactly as a user's check would be, and keeps it as a review item with its known label
(`gold_label`) in push_state "held". Each sync first releases held items into the queue so that they make
about DFG_REVIEW_GOLD_RATE of the tasks sent, Real and Fake in turn, picked at random. A gold task then
looks like any other: the model's verdict, score, faces and heatmap, shown as a dispute of that verdict
(or as uncertain, when the model was). Reviewers' answers on it come back like every other answer and
score them (core/reviewers.py); labels of a reviewer under the bar are held back from training
(feedback/dataset.py). A gold item itself is never trained on.
"""
from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from core.images import ImageStore
from core.problems import Problem
from core.settings import Settings
from core.store import Check, ReviewItem, Store
from models.data.pipeline import IMAGE_SUFFIXES
from server.review import ext_id_for

GOLD_CLIENT = "gold"            # the client of gold tasks' checks (API key ids are hex: never this)
HELD = "held"                   # the push_state of a gold item not yet released into the queue
LABEL_FOLDERS = {"Real": "real", "Fake": "fake"}


@dataclass
class GoldAdded:
    added: dict[str, int] = field(default_factory=lambda: {"real": 0, "fake": 0})
    already: int = 0                                   # the image is in review already (gold or a user's)
    refused: list[str] = field(default_factory=list)   # files the intake refused, with why


def gold_files(folder: Path) -> list[tuple[Path, str]]:
    """The images of FOLDER/Real and FOLDER/Fake with their labels, in name order."""
    missing = [name for name in LABEL_FOLDERS if not (folder / name).is_dir()]
    if len(missing) == len(LABEL_FOLDERS):
        raise FileNotFoundError(f"{folder} has neither a Real nor a Fake folder: put the known real images in "
                                f"{folder}/Real and the known fakes in {folder}/Fake")
    return [(path, label) for name, label in LABEL_FOLDERS.items() if (folder / name).is_dir()
            for path in sorted((folder / name).iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]


def add_gold(settings: Settings, store: Store, images: ImageStore, folder: Path, limit: int | None = None,
             progress: Callable[[str], None] = print) -> GoldAdded:
    """Check each image of `folder` with the served model and keep it as a held gold item.

    Args:
        limit: at most this many images per label (the first by name).
    """
    from core.intake import decode_image
    from server.serving import build_holder

    checker = build_holder(settings).current()
    result = GoldAdded()
    for path, label in gold_files(folder):
        if limit is not None and result.added[label] >= limit:
            continue
        data = path.read_bytes()
        try:
            image = decode_image(data, settings.max_pixels)
        except Problem as problem:
            result.refused.append(f"{path}: {problem.detail}")
            continue
        with store.session() as session:
            if session.scalar(select(ReviewItem.id).where(ReviewItem.image_sha256 == image.sha256)) is not None:
                result.already += 1
                continue
        assessment = checker.check(image)
        images.keep(image.sha256, data)
        check = Check(id=str(uuid.uuid4()), client=GOLD_CLIENT, sha256=image.sha256, width=image.width,
                      height=image.height, format=image.format, verdict=assessment.verdict, reason="model",
                      fake_probability=assessment.fake_probability,
                      faces=assessment.faces_json(),
                      scope=assessment.scope, model_version=assessment.model_version, elapsed_ms=0.0)
        with store.session() as session:
            session.add(check)
            session.flush()
            session.add(ReviewItem(image_sha256=image.sha256, ext_id=ext_id_for(image.sha256), check_id=check.id,
                                   reason="uncertain" if assessment.verdict == "uncertain" else "disputed",
                                   push_state=HELD, gold_label=label))
        result.added[label] += 1
        progress(f"  {path.name}: {label}, model says {assessment.verdict} ({assessment.fake_probability:.2f})")
    return result


def release_gold(store: Store, rate: float, rng: random.Random | None = None) -> int:
    """Move held gold items into the queue until they are about `rate` of the tasks sent or queued.

    The label with fewer released goes first (a reviewer who answers one way to everything is caught);
    which image, at random. Returns how many were released.
    """
    rng = rng or random.Random()
    with store.session() as session:
        users = session.scalar(select(func.count()).select_from(ReviewItem).where(ReviewItem.gold_label.is_(None))) or 0
        released = dict(session.execute(select(ReviewItem.gold_label, func.count()).where(
            ReviewItem.gold_label.is_not(None), ReviewItem.push_state != HELD).group_by(ReviewItem.gold_label)).all())
        target = math.floor(rate / (1 - rate) * users + 0.5)
        wanted = target - sum(released.values())
        if wanted <= 0:
            return 0
        held = {label: list(session.scalars(select(ReviewItem).where(ReviewItem.push_state == HELD,
                                                                      ReviewItem.gold_label == label)))
                for label in LABEL_FOLDERS.values()}
        count = 0
        for _ in range(wanted):
            labels = [label for label in held if held[label]]
            if not labels:
                break
            label = min(labels, key=lambda name: (released.get(name, 0), rng.random()))
            item = held[label].pop(rng.randrange(len(held[label])))
            item.push_state = "pending"
            released[label] = released.get(label, 0) + 1
            count += 1
        return count


def gold_counts(store: Store) -> dict[str, dict[str, int]]:
    """Gold items per label: held (not yet released), in review (released, no label yet) and answered."""
    counts = {label: {"held": 0, "in_review": 0, "answered": 0} for label in LABEL_FOLDERS.values()}
    with store.session() as session:
        rows = session.execute(select(ReviewItem.gold_label, ReviewItem.push_state, ReviewItem.reviewer_count)
                               .where(ReviewItem.gold_label.is_not(None)))
        for label, state, reviewers in rows:
            key = "held" if state == HELD else "answered" if reviewers else "in_review"
            counts.setdefault(label, {"held": 0, "in_review": 0, "answered": 0})[key] += 1
    return counts
