"""Manipulations that turn a real image into a synthetic "fake" for the demo model.

Each one mimics a step of a deepfake pipeline (a pasted region, a low-resolution generator's
upsampling, a warped region, a colour-mismatched region, a swapped face) and returns the
manipulated image together with the per-pixel weight of the change, so callers can check the
change is really there. All randomness comes from the `rng` passed in.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

# Feathering widths in pixels: 2 px is a near-hard seam, 14 px a soft one that hides well.
FEATHER_PX = (2.0, 14.0)
_RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
             "bicubic": Image.Resampling.BICUBIC}


def ellipse_mask(shape: tuple[int, int], center: tuple[float, float], axes: tuple[float, float],
                 angle_deg: float, feather_px: float) -> np.ndarray:
    """Soft elliptical mask (H×W float32 in 0..1) whose edge ramps over about `feather_px` pixels."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = math.radians(angle_deg)
    dx, dy = xx - center[0], yy - center[1]
    u = dx * math.cos(theta) + dy * math.sin(theta)
    v = -dx * math.sin(theta) + dy * math.cos(theta)
    radius = np.sqrt((u / axes[0]) ** 2 + (v / axes[1]) ** 2)
    inside_px = (1.0 - radius) * min(axes)  # approximate signed distance to the edge
    ramp = np.clip(0.5 + inside_px / max(feather_px, 1.0), 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)  # smoothstep


def random_region(rng: np.random.Generator, size: int, face_box=None) -> np.ndarray:
    """A random soft ellipse; aimed at the face (when the crop has one) more often than not."""
    if face_box is not None and rng.random() < 0.6:
        x, y, w, h = face_box
        center = (x + w / 2 + rng.normal(0, w * 0.05), y + h / 2 + rng.normal(0, h * 0.05))
        axes = (w / 2 * rng.uniform(0.75, 1.05), h / 2 * rng.uniform(0.8, 1.1))
        angle = rng.uniform(-10, 10)
    else:
        center = tuple(rng.uniform(0.25, 0.75, size=2) * size)
        axes = tuple(rng.uniform(0.12, 0.3, size=2) * size)
        angle = rng.uniform(-40, 40)
    return ellipse_mask((size, size), center, axes, angle, rng.uniform(*FEATHER_PX))


def blend(image: np.ndarray, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`patch` over `image` with weight `mask`, back to uint8."""
    out = image.astype(np.float32) * (1.0 - mask[..., None]) + patch.astype(np.float32) * mask[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def to_grey(image: np.ndarray) -> np.ndarray:
    """Luma copied to all three channels (fakes of a greyscale photo must stay grey)."""
    luma = np.rint(image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    return np.repeat(np.clip(luma, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def match_colour(patch: np.ndarray, target: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """Move the patch's per-channel mean/std under `mask` part of the way (`strength`) to the target's."""
    weights = mask.reshape(-1) + 1e-6
    src = patch.astype(np.float32).reshape(-1, 3)
    dst = target.astype(np.float32).reshape(-1, 3)
    src_mean = np.average(src, axis=0, weights=weights)
    dst_mean = np.average(dst, axis=0, weights=weights)
    src_std = np.sqrt(np.average((src - src_mean) ** 2, axis=0, weights=weights)) + 1.0
    dst_std = np.sqrt(np.average((dst - dst_mean) ** 2, axis=0, weights=weights)) + 1.0
    matched = (src - src_mean) / src_std * dst_std + dst_mean
    out = src + strength * (matched - src)
    return np.clip(out, 0, 255).reshape(patch.shape)


def shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The image moved by (dx, dy) with mirrored edges: what another place of the same photo looks like."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((h, h), (w, w), (0, 0)), mode="reflect")
    return padded[h - dy:2 * h - dy, w - dx:2 * w - dx]


def region_swap(rng: np.random.Generator, image: np.ndarray, donor: np.ndarray,
                face_box=None) -> tuple[np.ndarray, np.ndarray]:
    """Paste an elliptical region of `donor` (another photo, or this one shifted) with an imperfect colour match."""
    mask = random_region(rng, image.shape[0], face_box)
    patch = match_colour(donor, image, mask, rng.uniform(0.3, 0.95))
    return blend(image, patch, mask), mask


def copy_move(rng: np.random.Generator, image: np.ndarray, face_box=None) -> tuple[np.ndarray, np.ndarray]:
    """Region swap within the photo: content from elsewhere in the same image."""
    size = image.shape[0]
    offset = rng.uniform(0.2, 0.5, size=2) * size * rng.choice([-1, 1], size=2)
    donor = shifted(image, int(offset[0]), int(offset[1]))
    return region_swap(rng, image, donor, face_box)


def _checkerboard(rng: np.random.Generator, low: np.ndarray, factor: int, shape) -> np.ndarray:
    """Transposed-convolution look: nearest upsampling, a light blur, and a periodic gain pattern."""
    up = np.repeat(np.repeat(low.astype(np.float32), factor, axis=0), factor, axis=1)[:shape[0], :shape[1]]
    up = (np.roll(up, 1, axis=0) + 2 * up + np.roll(up, -1, axis=0)) / 4
    up = (np.roll(up, 1, axis=1) + 2 * up + np.roll(up, -1, axis=1)) / 4
    pattern = rng.normal(size=(factor, factor, 1)) + 0.3 * rng.normal(size=(factor, factor, 3))
    pattern -= pattern.mean()
    pattern /= np.abs(pattern).max() + 1e-6
    tiled = np.tile(pattern, (shape[0] // factor + 1, shape[1] // factor + 1, 1))[:shape[0], :shape[1]]
    return np.clip(up * (1.0 + rng.uniform(0.04, 0.12) * tiled), 0, 255)


def upsample(rng: np.random.Generator, image: np.ndarray, mode: str, whole: bool,
             face_box=None) -> tuple[np.ndarray, np.ndarray]:
    """Downscale 2–4× and upsample (nearest, bilinear or checkerboard), in a region or the whole image."""
    h, w = image.shape[:2]
    factor = int(rng.integers(2, 5))
    low_size = (max(1, math.ceil(w / factor)), max(1, math.ceil(h / factor)))
    low = Image.fromarray(image).resize(low_size, Image.Resampling.BILINEAR, reducing_gap=None)
    if mode == "checkerboard":
        generated = _checkerboard(rng, np.asarray(low), factor, image.shape)
    else:
        generated = np.asarray(low.resize((w, h), _RESAMPLE[mode]))
    mask = np.ones((h, w), np.float32) if whole else random_region(rng, h, face_box)
    return blend(image, generated, mask), mask


def random_upsample(rng: np.random.Generator, image: np.ndarray, face_box=None):
    """`upsample` with a random mode and scope; also returns its name, e.g. "upsample_nearest_full"."""
    mode = str(rng.choice(["nearest", "bilinear", "checkerboard"]))
    whole = bool(rng.random() < 0.35)
    return (*upsample(rng, image, mode, whole, face_box), f"upsample_{mode}" + ("_full" if whole else ""))


def resample(rng: np.random.Generator, image: np.ndarray, face_box=None) -> tuple[np.ndarray, np.ndarray]:
    """Rotate/scale a region about its centre and paste it back."""
    mask = random_region(rng, image.shape[0], face_box)
    ys, xs = np.nonzero(mask > 0.5)
    cx, cy = (xs.mean(), ys.mean()) if len(xs) else (image.shape[1] / 2, image.shape[0] / 2)
    theta = math.radians(rng.uniform(4, 20) * rng.choice([-1, 1]))
    scale = rng.choice([rng.uniform(0.8, 0.93), rng.uniform(1.08, 1.25)])
    a, b = math.cos(theta) / scale, math.sin(theta) / scale
    d, e = -b, a
    c = cx - a * cx - b * cy + rng.normal(0, 3)
    f = cy - d * cx - e * cy + rng.normal(0, 3)
    method = _RESAMPLE[str(rng.choice(["bilinear", "bicubic"]))]
    warped = Image.fromarray(image).transform(image.shape[1::-1], Image.Transform.AFFINE, (a, b, c, d, e, f), method)
    return blend(image, np.asarray(warped), mask), mask


def color_mismatch(rng: np.random.Generator, image: np.ndarray, face_box=None) -> tuple[np.ndarray, np.ndarray]:
    """Shift a region's colour balance, brightness and gamma (strength varies from subtle to plain)."""
    mask = random_region(rng, image.shape[0], face_box)
    strength = rng.uniform(0.3, 1.0)
    gamma = math.exp(strength * rng.uniform(0.1, 0.35) * rng.choice([-1, 1]))
    gains = 1.0 + strength * rng.uniform(0.03, 0.15, size=3) * rng.choice([-1, 1], size=3)
    offset = strength * rng.uniform(5, 28) * rng.choice([-1, 1])
    shifted_colour = 255.0 * (image.astype(np.float32) / 255.0) ** gamma * gains + offset
    return blend(image, np.clip(shifted_colour, 0, 255), mask), mask


def turned_face(rng: np.random.Generator, face: np.ndarray) -> np.ndarray:
    """The same face mirrored and turned a little: a swap donor when no other identity is at hand."""
    image = Image.fromarray(face).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    center = (image.width / 2 + rng.normal(0, 3), image.height / 2 + rng.normal(0, 3))
    return np.asarray(image.rotate(rng.uniform(4, 12) * rng.choice([-1, 1]), Image.Resampling.BILINEAR,
                                   center=center))


def face_swap(rng: np.random.Generator, image: np.ndarray, face_box, donor_face: np.ndarray,
              margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Paste `donor_face` (a face crop with `margin` around its face box) over the face box of `image`.

    The donor is colour-matched imperfectly and blended through a feathered ellipse inside the box.
    """
    x, y, w, h = face_box
    canvas_box = (x - margin * w, y - margin * h, w * (1 + 2 * margin), h * (1 + 2 * margin))
    size = image.shape[1::-1]
    # Scale the donor crop into the canvas box in one affine step (no intermediate rounding).
    sx, sy = donor_face.shape[1] / canvas_box[2], donor_face.shape[0] / canvas_box[3]
    placed = Image.fromarray(donor_face).transform(
        size, Image.Transform.AFFINE, (sx, 0, -canvas_box[0] * sx, 0, sy, -canvas_box[1] * sy),
        Image.Resampling.BILINEAR)
    center = (x + w / 2, y + h / 2 + rng.normal(0, h * 0.02))
    axes = (w / 2 * rng.uniform(0.85, 1.02), h / 2 * rng.uniform(0.92, 1.08))
    mask = ellipse_mask(image.shape[:2], center, axes, rng.uniform(-5, 5), rng.uniform(3, 12))
    patch = match_colour(np.asarray(placed), image, mask, rng.uniform(0.35, 0.9))
    return blend(image, patch, mask), mask
