"""Where the served model looked: an occlusion map of each face crop, from the served scorer itself.

The served score is not a CNN's linear head on pooled feature maps (a class-activation map would
read those): it is the data rule, the ONNX network and the landmark head's soft OR (core/served_model.py).
So the map asks that whole scorer directly: a patch of the crop is hidden (filled with the crop's
mean colour), the crop is scored again, and the fall of the fake logit is what that patch contributed.

    crop → canonical orientation (once, as served) → for each of 7×7 patches (64 px, stride 32 at 256 px):
           patch := the crop's mean colour → JPEG re-encode (the data rule) → network + head → logit
    heat(pixel) = mean over the patches covering it of max(0, logit(base) − logit(occluded))
    → averaged into GRID×GRID cells, divided by its maximum (0–1), mirrored back if the crop was mirrored

Filling with the mean colour removes everything a patch holds; blurring it (the alternative
`fill="blur"`) would remove only fine detail (seams, sharpness mismatch). Both are measured side by side
by `python -m bench.explain`, and the mean fill put more of the map inside the blended region of
self-blended fakes (docs/explanations.md). The map says which parts of the crop raised this
model's fake score; it does not say those parts were manipulated, and a low-scored face's map only
shows what raised a low score.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from core.crops import MAX_ENLARGEMENT, face_square
from core.landmark_head import logit
from core.served_model import Scorer

METHOD = "occlusion"
GRID = 16                 # the map's cells per side
PATCHES = 7               # patch positions per side (patch = 2 × stride, stride = size / (PATCHES + 1))
BLUR_RADIUS = 6.0         # Gaussian blur of the occluding copy, pixels at the 256 px crop size
FILLS = ("mean", "blur")
LEGEND = "Brighter: hiding that part lowered the fake score more. Where this model looked, not proof of what was changed."


@dataclass(frozen=True)
class Heatmap:
    values: np.ndarray        # GRID×GRID in [0, 1], rows top to bottom, over the crop square
    peak_drop: float          # the largest fall of P(fake) when one patch was hidden
    base: float               # P(fake) of the crop as served

    def to_json(self, region: tuple[int, int, int, int]) -> dict:
        return {"method": METHOD, "size": GRID, "region": list(region),
                "values": np.round(self.values, 3).tolist(), "peak_drop": round(self.peak_drop, 4)}


def _patches(size: int) -> list[tuple[int, int, int]]:
    stride = size // (PATCHES + 1)
    return [(top, left, 2 * stride) for top in range(0, PATCHES * stride, stride)
            for left in range(0, PATCHES * stride, stride)]


def _filler(crop: np.ndarray, fill: str) -> np.ndarray:
    if fill == "blur":
        radius = BLUR_RADIUS * crop.shape[0] / 256
        return np.asarray(Image.fromarray(crop).filter(ImageFilter.GaussianBlur(radius)))
    if fill == "mean":
        return np.broadcast_to(crop.reshape(-1, 3).mean(axis=0).round().astype(np.uint8), crop.shape)
    raise ValueError(f"unknown fill {fill!r}; use one of {FILLS}")


def occlusion_map(scorer: Scorer, crop: np.ndarray, fill: str = "mean") -> Heatmap:
    """The occlusion map of one served crop (S×S×3 uint8, as cut by core.crops.crop_face); `fill` is
    what replaces a hidden patch (FILLS).

    Scores 1 + PATCHES² variants of the crop through the served scorer (Scorer.score_variants: the
    orientation is decided once, on the crop as cut; each variant gets the rest of the data rule).
    """
    size = crop.shape[0]
    patches = _patches(size)

    def occluded(oriented: np.ndarray) -> np.ndarray:
        filler = _filler(oriented, fill)
        variants = np.repeat(oriented[None], 1 + len(patches), axis=0)
        for index, (top, left, side) in enumerate(patches, start=1):
            variants[index, top:top + side, left:left + side] = filler[top:top + side, left:left + side]
        return variants

    scores, mirrored = scorer.score_variants(crop, occluded)
    logits = logit(scores)
    drops = np.maximum(0.0, logits[0] - logits[1:])
    heat, cover = np.zeros((size, size)), np.zeros((size, size))
    for drop, (top, left, side) in zip(drops, patches):
        heat[top:top + side, left:left + side] += drop
        cover[top:top + side, left:left + side] += 1
    heat = np.divide(heat, cover, out=np.zeros_like(heat), where=cover > 0)
    cells = to_grid(heat)
    if cells.max() > 0:
        cells = cells / cells.max()
    if mirrored:
        cells = cells[:, ::-1]
    return Heatmap(values=cells, peak_drop=float(max(0.0, scores[0] - scores[1:].min())), base=float(scores[0]))


def to_grid(values: np.ndarray) -> np.ndarray:
    """An H×W map averaged into GRID×GRID cells (also how a mask is compared with a map)."""
    image = Image.fromarray(np.asarray(values, np.float32))
    return np.asarray(image.resize((GRID, GRID), Image.BOX), np.float64)


def crop_region(face_box: tuple[int, int, int, int], decoded_size: tuple[int, int], scale: float,
                input_size: int) -> tuple[int, int, int, int]:
    """The crop square of a face (x, y, side, side) in pixels of the upright original image: what its
    heatmap covers (it may reach past the image's edges).

    Args:
        face_box: the face as detected in the decoded image (x, y, w, h).
        decoded_size: (width, height) of the decoded image (reduced by `scale` from the original).
        input_size: the model's crop size (core.check.served_crops cuts with it).
    """
    x, y, side, _ = face_square(face_box, decoded_size, min_side=input_size // MAX_ENLARGEMENT)
    return tuple(round(v / scale) for v in (x, y, side, side))
