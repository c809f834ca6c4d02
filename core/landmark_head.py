"""The landmark head: a linear model on colour, texture and shape at the 468 landmarks of a face crop.

The CNN pools early and so misses what tells GAN-made faces from photos; sampled at the same 468
facial points in every face (MediaPipe FaceMesh, core/landmarks.py), colour, fine texture
and the points' layout separate them with a plain logistic regression (fitted by models.training.landmark_head).
Its evidence is added to the CNN's by a soft OR of their logits,

    P(fake) = sigmoid(logaddexp(logit(p_cnn), head_logit)),

so either one alone can call a crop fake, and a crop without landmarks keeps the CNN's score.
Numpy and LiteRT only: serving workers load no TensorFlow and no scikit-learn.

Since feature version 2 the head weighs both sides of a face alike: each point's features are
averaged with those of its mirror point (facemesh_mirror.json, measured by models.training.mirror_points).
A head fitted on faces as photographed learned which side was which and lost ROC AUC 0.878 → 0.751
on mirrored faces-gan Test faces; scored on crops turned to one orientation (orientation.py) it
reached 0.840 refitted, and 0.858–0.864 with the mirror average (faces-small_cnn-2's crops).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.crops import FACE_CROP_RAISE, FACE_CROP_SCALE
from core.faces import Face

HEAD_FILE = "landmark_head.npz"
FEATURE_VERSION = 2              # 1: the features as measured; 2: averaged with the mirror points' (both served)
POINTS = 468
FEATURES = POINTS * 7            # per point: mean R, G, B (3×3), texture, local contrast (5×5), x, y
X_BLOCK = 5                      # the block of x / W among the 7
MIRROR_FILE = Path(__file__).with_name("facemesh_mirror.json")
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_WINDOW = np.arange(-3, 4)       # 7×7 around a point: a 5×5 Laplacian needs one more pixel each side
_COLOUR = np.arange(-1, 2)


def landmark_features(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """FEATURES float32 values of one H×W×3 uint8 crop at its 468 (x, y) landmark points.

    Per point, in blocks of 468: mean R, G and B over 3×3 pixels (0–1), the mean absolute 4-neighbour
    Laplacian and the standard deviation of luma over 5×5 pixels (0–1 scale), and x / W, y / H.
    Points outside the crop use its nearest edge pixels.
    """
    height, width = crop.shape[:2]
    pixels = crop.astype(np.float32)
    luma = np.pad(pixels @ _LUMA, 3, mode="edge")
    colour = np.pad(pixels, ((1, 1), (1, 1), (0, 0)), mode="edge")
    xs = np.clip(np.rint(points[:, 0]).astype(int), 0, width - 1)
    ys = np.clip(np.rint(points[:, 1]).astype(int), 0, height - 1)
    window = luma[(ys + 3)[:, None, None] + _WINDOW[None, :, None], (xs + 3)[:, None, None] + _WINDOW[None, None, :]]
    centre = window[:, 1:-1, 1:-1]
    laplacian = np.abs(4 * centre - window[:, :-2, 1:-1] - window[:, 2:, 1:-1] - window[:, 1:-1, :-2]
                       - window[:, 1:-1, 2:])
    rgb = colour[(ys + 1)[:, None, None] + _COLOUR[None, :, None],
                 (xs + 1)[:, None, None] + _COLOUR[None, None, :]].mean(axis=(1, 2)) / 255.0
    layout = points / np.array([width, height], np.float32)
    return np.concatenate([rgb.T.reshape(-1), laplacian.mean(axis=(1, 2)) / 255.0, centre.std(axis=(1, 2)) / 255.0,
                           layout.T.reshape(-1)]).astype(np.float32)


@functools.cache
def mirror_pairing() -> np.ndarray:
    """POINTS indices: entry i is the point that mirrors point i (itself on the face's midline)."""
    pairing = np.asarray(json.loads(MIRROR_FILE.read_text())["pairing"], np.int64)
    if pairing.shape != (POINTS,) or not np.array_equal(pairing[pairing], np.arange(POINTS)):
        raise ValueError(f"{MIRROR_FILE}: not a pairing of {POINTS} points with their mirror points")
    pairing.setflags(write=False)   # cached: shared by every caller
    return pairing


def mirror_averaged(rows: np.ndarray, pairing: np.ndarray) -> np.ndarray:
    """FEATURES rows (N×FEATURES, or one), each point's features averaged with its mirror point's (x read
    from the other edge)."""
    rows = np.asarray(rows, np.float32)
    blocks = rows.reshape(-1, 7, POINTS)
    mirrored = blocks[:, :, pairing]
    mirrored[:, X_BLOCK] = 1.0 - mirrored[:, X_BLOCK]
    return ((blocks + mirrored) / 2).reshape(rows.shape)


def head_inputs(features: np.ndarray, feature_version: int = FEATURE_VERSION) -> np.ndarray:
    """What a head of `feature_version` reads from landmark_features rows (the fit and the server alike)."""
    if feature_version == 1:
        return np.asarray(features, np.float32)
    return mirror_averaged(features, mirror_pairing())


@dataclass(frozen=True)
class HeadWeights:
    """Standardise (mean, scale), then a linear model (coef, intercept); offset shifts it in the soft OR.

    Its inputs are landmark_features rows; feature_version 2 averages them with their mirror points'
    first (the fit saw them so).
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    offset: float
    feature_version: int = FEATURE_VERSION

    def logits(self, features: np.ndarray) -> np.ndarray:
        inputs = head_inputs(features, self.feature_version)
        # a row-wise sum, not a matrix product: BLAS rounds a batch differently from one row (1e-6 apart,
        # measured), and a face must get the same logit alone (serving) or among many (evaluation, fitting)
        return (((inputs - self.mean) / self.scale) * self.coef).sum(axis=-1) + self.intercept + self.offset

    def save(self, folder: Path) -> Path:
        path = Path(folder) / HEAD_FILE
        with open(path, "wb") as handle:   # np.savez would append ".npz" to a name without it
            np.savez(handle, feature_version=self.feature_version, mean=self.mean, scale=self.scale, coef=self.coef,
                     intercept=self.intercept, offset=self.offset)
        return path

    @classmethod
    def load(cls, folder: Path) -> HeadWeights | None:
        """The head saved in a model folder, or None when it has none."""
        path = Path(folder) / HEAD_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as saved:
            version = int(saved["feature_version"])
            if version not in (1, FEATURE_VERSION):
                raise ValueError(f"{path}: features of version {version}; this server computes versions 1 and "
                                 f"{FEATURE_VERSION}. Refit the head (deepfake-guard add-landmark-head).")
            weights = cls(saved["mean"].astype(np.float32), saved["scale"].astype(np.float32),
                          saved["coef"].astype(np.float32), float(saved["intercept"]), float(saved["offset"]),
                          version)
        if not (weights.mean.shape == weights.scale.shape == weights.coef.shape == (FEATURES,)):
            raise ValueError(f"{path}: expected {FEATURES} weights per array, got {weights.coef.shape}")
        return weights


def face_in_crop(size: int) -> Face:
    """Where a served crop puts its face (core/crops.py: the square is FACE_CROP_SCALE × the
    face, raised by FACE_CROP_RAISE), as a level Face for FaceMesh's region of interest."""
    extent = size / FACE_CROP_SCALE
    cx, cy = size / 2, size / 2 + FACE_CROP_RAISE * extent
    box = (round(cx - extent / 2), round(cy - extent / 2), round(extent), round(extent))
    return Face(box, 1.0, ((cx - 1.0, cy), (cx + 1.0, cy)) + ((cx, cy),) * 4)   # eyes level: no rotation


class LandmarkFinder:
    """A crop → the 468 landmark points of the face it was cut around (None where FaceMesh sees no face).

    FaceMesh looks where the crop rule puts the face instead of running the face detector again: on
    the 320 faces-gan photos checked, its points lay 1.3 px (median) from those found through a new
    detection, at 2.0 instead of 5.3 ms. The same function serves training and serving, so both see
    the same points. Crops whose face is elsewhere (a small face with extra context, a whole image
    without a face) get None when FaceMesh's face presence is below its threshold: no head evidence.
    """

    def __init__(self, num_threads: int = 1) -> None:
        from core.landmarks import FaceLandmarker

        self._landmarker = FaceLandmarker(num_threads=num_threads)   # thread-safe: it locks its interpreter

    def points(self, crop: np.ndarray) -> np.ndarray | None:
        return self._landmarker.landmarks(crop, face_in_crop(max(crop.shape[:2])))

    def features(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N×FEATURES landmark features, N found flags) of N crops; rows without landmarks are zeros."""
        rows = np.zeros((len(crops), FEATURES), np.float32)
        found = np.zeros(len(crops), bool)
        for i, crop in enumerate(np.asarray(crops, np.uint8)):
            points = self.points(crop)
            if points is not None:
                rows[i], found[i] = landmark_features(crop, points), True
        return rows, found


class LandmarkHead:
    """HeadWeights applied to crops, and the soft OR with the CNN's probabilities."""

    def __init__(self, weights: HeadWeights, num_threads: int = 1) -> None:
        self.weights = weights
        self.finder = LandmarkFinder(num_threads)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """The head's logit per crop; -inf (no evidence) where no landmarks were found."""
        rows, found = self.finder.features(crops)
        return np.where(found, self.weights.logits(rows), -np.inf)

    def combine(self, cnn_probabilities: np.ndarray, crops: np.ndarray) -> np.ndarray:
        return soft_or(cnn_probabilities, self.logits(crops))


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 − p)) of probabilities, clipped to [1e-7, 1 − 1e-7] first."""
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def soft_or(cnn_probabilities: np.ndarray, head_logits: np.ndarray) -> np.ndarray:
    """sigmoid(logaddexp(logit(p), head)): at least either; equal to p where head is -inf."""
    combined = np.logaddexp(logit(cnn_probabilities), np.asarray(head_logits, np.float64))
    return 1.0 / (1.0 + np.exp(-combined))
