"""Augmented views of a face as the web makes them: mirrored, blurred, shrunk and scaled back, JPEG at 40–100.

Numpy/PIL, seeded: one view of one image is the same on every run, and the members of a pair (a real face and
its fake) share the seed, so both go through the very same changes and only the manipulation tells them apart.
View 0 is the image as it is.
"""
from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageFilter

JPEG_QUALITY = (40, 100)
P_MIRROR = 0.5
P_BLUR, BLUR_SIGMA = 0.3, (0.3, 1.5)
P_RESIZE, RESIZE_FACTOR = 0.5, (0.4, 0.9)


def view_rng(seed: int, view: int, key: str) -> np.random.Generator:
    """The generator of one view of the group named `key` (a pair's real file): the same for both members."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return np.random.default_rng([seed, view, digest])


def web_view(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One augmented view of an H×W×3 uint8 image (same size): mirror, blur, down-and-up resize, then JPEG."""
    image = Image.fromarray(rgb)
    size = image.size
    mirror, blur, resize = rng.uniform(size=3) < (P_MIRROR, P_BLUR, P_RESIZE)
    sigma, factor = rng.uniform(*BLUR_SIGMA), rng.uniform(*RESIZE_FACTOR)
    quality = int(rng.integers(*JPEG_QUALITY, endpoint=True))
    if mirror:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(sigma))
    if resize:   # the web's order: shrunk, JPEG-encoded small, scaled back up by the server's crop
        image = image.resize((max(1, round(size[0] * factor)), max(1, round(size[1] * factor))), Image.BILINEAR,
                             reducing_gap=None)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    with Image.open(buffer) as decoded:
        image = decoded.convert("RGB")
        if image.size != size:
            image = image.resize(size, Image.BILINEAR)
        return np.asarray(image)
