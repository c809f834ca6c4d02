"""The face crop the classifier sees, used both at serving time and to build training data.

Training must see exactly the crops the server produces, so there is one function and no variants.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

CROP_SIZE = 256
# Measured on the 1,600 aligned 256x256 faces-gan photos (FFHQ framing, 800 Real + 800 Fake) with
# `python bench/faces_bench.py --calibrate ../shared/data/faces-gan`: FaceDetector found a face in all
# of them; image side / max(w, h) of the top box has median 1.620 (Real 1.641, Fake 1.610; p5-p95
# 1.50-1.80), and the image centre lies 0.196 * max(w, h) above the box centre (IQR 0.177-0.213;
# horizontal offset median 0.000). With both numbers the crop square of a detected face overlaps the
# aligned image with mean IoU 0.86 (0.72 for a square centred on the box; scale 1.5 or 1.75: 0.81, 0.83).
FACE_CROP_SCALE = 1.62
# BlazeFace boxes run from the brows to the chin; aligned faces are centred higher (eyes/nose), so the
# square moves up by this fraction of max(w, h). A vertical shift only: assumes an upright face.
FACE_CROP_RAISE = 0.196
# A face smaller than the crop rule wants is enlarged, up to this factor, so the model sees faces at
# the scale it learned. Measured with `python -m bench.small_faces` (faces-gan Test photos pasted at
# 200/160/120 px into an 800×600 photo, shipped model): ROC AUC 0.57 / 0.42 / 0.42 when small faces
# got context instead of enlargement (a face at a scale the model never saw; FaceMesh found the
# 120 px faces' landmarks in 1% of crops), 0.79 / 0.79 / 0.77 enlarged. Beyond 2× a crop is mostly
# interpolation: such a face gets context around it instead.
MAX_ENLARGEMENT = 2


def face_square(face_box: Any, image_size: tuple[int, int], scale: float = FACE_CROP_SCALE,
                min_side: int = CROP_SIZE // MAX_ENLARGEMENT) -> tuple[int, int, int, int]:
    """Square (x, y, side, side) around a face; it extends past the image only where the image is too small.

    Args:
        face_box: (x, y, w, h) in pixels, or a Face (its .box is used).
        image_size: (width, height) of the image the box belongs to, as PIL's Image.size.
        scale: side = scale * max(w, h) ...
        min_side: ... but at least this (within the image's longer side): a face too small for
            scale * max(w, h) to reach it is cropped with more context, so that crop_face enlarges
            no face more than MAX_ENLARGEMENT times.

    The square is centred on the box horizontally and FACE_CROP_RAISE * max(w, h) above the box
    centre, then moved inside the image along each axis where it fits (no padding is invented).
    """
    x, y, w, h = getattr(face_box, "box", face_box)
    width, height = image_size
    if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"face box {(x, y, w, h)} is empty or outside the {width}x{height} image; "
                         "pass the box detected on this very image")
    extent = max(w, h)
    side = max(1, round(scale * extent), min(min_side, max(width, height)))
    centre_x = x + w / 2
    centre_y = y + h / 2 - FACE_CROP_RAISE * extent
    left, top = round(centre_x - side / 2), round(centre_y - side / 2)
    if side <= width:
        left = min(max(left, 0), width - side)
    if side <= height:
        top = min(max(top, 0), height - side)
    return left, top, side, side


def crop_face(rgb: np.ndarray, face_box: Any, size: int = CROP_SIZE, scale: float = FACE_CROP_SCALE,
              max_enlargement: int = MAX_ENLARGEMENT) -> np.ndarray:
    """The face_square of face_box cut from an HxWx3 uint8 image, resized to size x size (PIL bilinear,
    which averages over the source pixels when shrinking), enlarging by at most max_enlargement
    (other values are for comparisons: bench.small_faces).

    Where the image is smaller than the square, the missing parts repeat the nearest edge pixel:
    reflection would mirror an eye or ear into the crop, a constant colour would add a hard edge the
    classifier could key on.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got shape {rgb.shape} dtype {rgb.dtype}")
    height, width = rgb.shape[:2]
    x, y, side, _ = face_square(face_box, (width, height), scale, min_side=size // max_enlargement)
    k = size / side
    # the in-image part of the square (at least one pixel, so a square that misses the image
    # entirely still replicates its nearest edge) and where it lands in the output
    ix0, iy0 = min(max(0, x), width - 1), min(max(0, y), height - 1)
    ix1, iy1 = max(min(width, x + side), ix0 + 1), max(min(height, y + side), iy0 + 1)
    left = min(max(0, round((ix0 - x) * k)), size - 1)
    top = min(max(0, round((iy0 - y) * k)), size - 1)
    inner_w = max(1, min(size - left, round((ix1 - x) * k) - left))
    inner_h = max(1, min(size - top, round((iy1 - y) * k) - top))
    part = Image.fromarray(rgb).resize((inner_w, inner_h), Image.BILINEAR, box=(ix0, iy0, ix1, iy1))
    return np.pad(np.asarray(part), ((top, size - top - inner_h), (left, size - left - inner_w), (0, 0)),
                  mode="edge")
