"""Self-blended fakes: a real face photo blended with a transformed copy of itself.

After Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images" (CVPR 2022), written
from the paper's description (the authors' code is for research use only; none of it is used).
A face swap pastes one face into another photo; the traces it leaves (a blend boundary, a colour
and sharpness mismatch, a slight misalignment) do not depend on whose face it is, so a copy of the
same face, changed a little, makes a fake with the same traces and no identity cue to learn instead.

    landmarks (468 FaceMesh points) → convex hull mask → elastic deformation → erosion or dilation
    → Gaussian blur → × blend ratio = the blend weights m
    the photo → colour/brightness shift, blur or sharpening, small scale and shift = the source
    fake = m · source + (1 − m) · photo      (pixels where m = 0 stay exactly as they were)

Every random choice comes from the generator passed in, so a seed repeats a fake exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage, spatial

# Ranges (fractions are of the face's size: the hull's bounding-box diagonal)
ELASTIC_ALPHA = (0.0, 0.04)      # peak displacement of the mask's outline
ELASTIC_SIGMA = 0.08             # smoothness of the displacement field
MORPH = (-0.06, 0.03)            # erosion (<0) or dilation (>0) of the mask
BLUR_SIGMA = (0.01, 0.04)        # softness of the blend boundary
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)   # the paper's choice: mostly a full blend
COLOUR_SHIFT = 20.0              # per-channel shift, grey levels
BRIGHTNESS = 0.1                 # contrast gain 1 ± this, brightness shift ± this × 255
P_BLUR, P_SHARPEN = 0.35, 0.35   # the source is blurred, sharpened, or neither
SOURCE_BLUR = (0.5, 1.5)
SCALE = (0.95, 1.05)
SHIFT = 0.03


@dataclass(frozen=True)
class SelfBlend:
    fake: np.ndarray      # H×W×3 uint8
    weights: np.ndarray   # H×W float32 blend weights m in [0, 1]
    hull: np.ndarray      # H×W bool, the landmarks' convex hull before any change

    @property
    def changed(self) -> np.ndarray:
        """Where the source was blended in (m > 0): the fake's changed region."""
        return self.weights > 0


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The convex hull's vertices of 2-D points, counter-clockwise (scipy's Qhull)."""
    points = np.unique(np.asarray(points, float), axis=0)
    if len(points) < 3:
        return points
    return points[spatial.ConvexHull(points).vertices]


def hull_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """H×W bool mask of the points' convex hull."""
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in convex_hull(points)], fill=1, outline=1)
    mask = np.array(canvas, bool)
    # the rasterised outline can miss a point on it by a pixel: every point's own pixel is in
    cols, rows = np.round(np.asarray(points)).astype(int).T
    keep = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    mask[rows[keep], cols[keep]] = True
    return mask


def _elastic(mask: np.ndarray, rng: np.random.Generator, size: float) -> np.ndarray:
    alpha = rng.uniform(*ELASTIC_ALPHA) * size
    if alpha < 0.5:
        return mask
    sigma = ELASTIC_SIGMA * size
    dy, dx = (ndimage.gaussian_filter(rng.uniform(-1, 1, mask.shape), sigma) for _ in range(2))
    peak = max(np.abs(dx).max(), np.abs(dy).max(), 1e-9)
    rows, cols = np.indices(mask.shape, dtype=np.float32)
    moved = ndimage.map_coordinates(mask.astype(np.float32), [rows + dy / peak * alpha, cols + dx / peak * alpha],
                                    order=1, mode="constant")
    return moved > 0.5


def _morph(mask: np.ndarray, rng: np.random.Generator, size: float) -> np.ndarray:
    amount = rng.uniform(*MORPH) * size
    steps = int(round(abs(amount)))
    if steps == 0:
        return mask
    grow = ndimage.binary_dilation if amount > 0 else ndimage.binary_erosion
    return grow(mask, iterations=steps)


def blend_weights(hull: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The blend weights m: the hull deformed, eroded or dilated, blurred and scaled by a ratio."""
    rows, cols = np.nonzero(hull)
    if not len(rows):
        raise ValueError("the landmark hull is empty")
    size = float(np.hypot(np.ptp(rows) + 1, np.ptp(cols) + 1))
    mask = _morph(_elastic(hull, rng, size), rng, size)
    if not mask.any():   # eroded away on a tiny face: keep the hull itself
        mask = hull
    soft = ndimage.gaussian_filter(mask.astype(np.float32), rng.uniform(*BLUR_SIGMA) * size, truncate=3.0)
    soft[soft < 1e-3] = 0.0   # the blur's far tail would change pixels by less than a grey level
    return (soft / soft.max() * rng.choice(BLEND_RATIOS)).astype(np.float32)


def transformed_copy(rgb: np.ndarray, rng: np.random.Generator, centre: tuple[float, float],
                     size: float) -> np.ndarray:
    """The source: the photo with shifted colours, blurred or sharpened, slightly scaled and moved."""
    copy = rgb.astype(np.float32)
    gain = 1 + rng.uniform(-BRIGHTNESS, BRIGHTNESS)
    offset = rng.uniform(-COLOUR_SHIFT, COLOUR_SHIFT, 3) + rng.uniform(-BRIGHTNESS, BRIGHTNESS) * 255
    copy = (copy - 128) * gain + 128 + offset
    choice = rng.uniform()
    if choice < P_BLUR:
        copy = ndimage.gaussian_filter(copy, (rng.uniform(*SOURCE_BLUR),) * 2 + (0,))
    elif choice < P_BLUR + P_SHARPEN:
        amount = rng.uniform(0.5, 1.5)
        copy = copy + amount * (copy - ndimage.gaussian_filter(copy, (1.0, 1.0, 0)))
    image = Image.fromarray(np.clip(copy + 0.5, 0, 255).astype(np.uint8))
    scale = rng.uniform(*SCALE)
    shift_x, shift_y = rng.uniform(-SHIFT, SHIFT, 2) * size
    cx, cy = centre
    # output (x, y) ← input ((x - cx - shift) / scale + cx): scale about the face centre, then move
    coefficients = (1 / scale, 0, cx - (cx + shift_x) / scale, 0, 1 / scale, cy - (cy + shift_y) / scale)
    return np.asarray(image.transform(image.size, Image.AFFINE, coefficients, resample=Image.BILINEAR,
                                      fillcolor=None), np.float32)


def self_blend(rgb: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> SelfBlend:
    """A self-blended fake of the face whose landmarks are given.

    Args:
        rgb: H×W×3 uint8 real photo.
        landmarks: N×2 (x, y) face landmark pixels in `rgb` (FaceMesh's 468, or any points that
            outline the face).
        rng: the source of every random choice.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 RGB array, got shape {rgb.shape} dtype {rgb.dtype}")
    hull = hull_mask(landmarks, rgb.shape[:2])
    weights = blend_weights(hull, rng)
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    source = transformed_copy(rgb, rng, ((x0 + x1) / 2, (y0 + y1) / 2), float(np.hypot(x1 - x0, y1 - y0)))
    m = weights[..., None]
    blended = np.clip(m * source + (1 - m) * rgb + 0.5, 0, 255).astype(np.uint8)
    fake = np.where(m > 0, blended, rgb)
    return SelfBlend(fake=fake, weights=weights, hull=hull)
