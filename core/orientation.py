"""One orientation per crop: a crop and its mirror image get the same score.

The classifier learned from randomly flipped crops but is not mirror symmetric: a mirrored crop
scored up to 0.3 apart from the original, and the landmark head, fitted on faces as photographed,
fell from ROC AUC 0.878 to 0.751 on mirrored faces-gan Test faces (the model served until
faces-small_cnn-4-head). Selfie cameras mirror, and mirroring is the cheapest way to dodge a
detector. So each crop is turned to one of its two orientations by a rule that a mirror image
reverses: the brighter side (sum of R + G + B weighted by the signed distance from the vertical
centre line) goes left. A crop and its mirror then become the same pixels, scored identically.

Integer arithmetic keeps the rule exact: a mirror image gives exactly the negated weight. At
weight 0 (a symmetric brightness balance), the smaller of the two byte strings decides.
"""
from __future__ import annotations

import numpy as np


def brightness_lean(crops: np.ndarray) -> np.ndarray:
    """Per crop, > 0 when its brightness leans right of the centre line, < 0 left; exactly negated by a mirror.

    Args:
        crops: N×H×W×3 RGB, uint8 (or integer-valued floats).
    """
    crops = np.asarray(crops)
    count, height, width, channels = crops.shape
    # rows first, over a contiguous W·3 axis: 15× faster than one sum over (1, 3); exact in uint32
    exact = np.uint32 if crops.dtype == np.uint8 else np.float64
    columns = crops.reshape(count, height, width * channels).sum(axis=1, dtype=exact)
    columns = columns.reshape(count, width, channels).sum(axis=2, dtype=np.int64 if exact is np.uint32 else exact)
    distance = 2 * np.arange(width, dtype=np.int64) - (width - 1)   # twice the signed distance, odd → integer
    return columns @ distance


def canonical_orientation(crops: np.ndarray) -> np.ndarray:
    """The crops, each mirrored left to right where that puts its brighter side left (a new array).

    Args:
        crops: N×H×W×3 RGB.

    Returns:
        Same shape and dtype; canonical_orientation(crops[:, :, ::-1]) equals canonical_orientation(crops).
    """
    crops = np.asarray(crops)
    out = crops.copy()
    lean = brightness_lean(crops)
    for index in np.flatnonzero(lean >= 0):
        mirrored = crops[index, :, ::-1]
        if lean[index] > 0 or mirrored.tobytes() < crops[index].tobytes():
            out[index] = mirrored
    return out
