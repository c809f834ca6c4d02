"""Robustness: how much ROC AUC a model keeps when test images go through what the web does to them.

Each condition is applied to the decoded size×size test crop, the same way for real and fake images,
and the degraded crop is scored as served (the model's data rule included) at the model's input size
again (a downscaled image is scaled back up, as the server's face crop would).
"""
from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from models.evaluation.metrics import classification_report

JPEG_QUALITY = 60
RESIZE_FACTOR = 0.5
BLUR_SIGMA = 1.0
# (name, what it does) in table order; "clean" first: the others' AUC drop is measured against it.
CONDITIONS = {
    "clean": "as decoded",
    "jpeg_q60": f"JPEG re-encode at quality {JPEG_QUALITY} (4:2:0)",
    "resize_0.5x": f"downscale to {RESIZE_FACTOR}× (antialiased), back up bilinear",
    "blur": f"Gaussian blur, sigma {BLUR_SIGMA} px",
    "jpeg_q60+resize_0.5x": f"downscale to {RESIZE_FACTOR}×, JPEG q{JPEG_QUALITY} at that size, back up",
    "mirror": "mirrored left to right (a selfie camera, or a repost made to dodge a detector)",
}


def jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling=2)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def _resize(image: Image.Image, then: Callable[[Image.Image], Image.Image] = lambda small: small) -> Image.Image:
    width, height = image.size
    small = image.resize((max(1, round(width * RESIZE_FACTOR)), max(1, round(height * RESIZE_FACTOR))),
                         Image.Resampling.BILINEAR, reducing_gap=None)  # PIL's bilinear antialiases when shrinking
    return then(small).resize((width, height), Image.Resampling.BILINEAR)


def _blur(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(BLUR_SIGMA))


_APPLY: dict[str, Callable[[Image.Image], Image.Image]] = {
    "clean": lambda image: image,
    "jpeg_q60": jpeg,
    "resize_0.5x": _resize,
    "blur": _blur,
    "jpeg_q60+resize_0.5x": lambda image: _resize(image, jpeg),
    "mirror": ImageOps.mirror,
}


def degrade(images: np.ndarray, condition: str) -> np.ndarray:
    """Apply one condition to an N×S×S×3 uint8 batch; returns a new batch of the same shape."""
    if condition not in _APPLY:
        raise ValueError(f"unknown condition {condition!r}; choose one of {', '.join(CONDITIONS)}")
    if condition == "clean":
        return images
    return np.stack([np.asarray(_APPLY[condition](Image.fromarray(image))) for image in images])


def robustness_table(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
                     threshold: float, conditions: tuple[str, ...] = tuple(CONDITIONS)) -> list[dict]:
    """Score the test images under each condition.

    Args:
        predict: N×S×S×3 images → N fake probabilities (e.g. `Runtime.predict`).
        images: the clean test images, uint8.
        labels: 1 = fake.
        threshold: the model's threshold (for accuracy, recall and the false positive rate).
        conditions: which conditions, in order; "clean" must come first.

    Returns:
        One row per condition: condition, description, roc_auc, auc_drop (clean AUC minus this
        one; positive = worse), accuracy, recall, false_positive_rate, mean_fake_probability.
    """
    if conditions[0] != "clean":
        raise ValueError("the first condition must be 'clean' (the drops are measured against it)")
    labels = np.asarray(labels).astype(int)
    rows, clean_auc = [], None
    for condition in conditions:
        scores = predict(degrade(images, condition))
        report = classification_report(labels, scores, threshold)
        predicted_fake = scores >= threshold
        real = labels == 0
        auc = report["roc_auc"]
        if clean_auc is None:
            clean_auc = auc
        rows.append({
            "condition": condition,
            "description": CONDITIONS[condition],
            "roc_auc": auc,
            "auc_drop": None if auc is None or clean_auc is None else clean_auc - auc,
            "accuracy": report["accuracy"],
            "recall": report["recall"],
            "false_positive_rate": float(predicted_fake[real].mean()) if real.any() else None,
            "mean_fake_probability": float(scores.mean()),
        })
    return rows
