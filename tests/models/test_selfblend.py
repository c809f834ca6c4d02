"""Self-blended fakes (models.data.selfblend) on package portraits: seeded, local to the face, changed where blended."""
from __future__ import annotations

import numpy as np
import pytest

from core.faces import FaceDetector
from core.landmarks import FaceLandmarker
from models.data.selfblend import convex_hull, hull_mask, self_blend
from tests.images import astronaut

SEEDS = range(12)


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo and the 468 landmarks of its face."""
    rgb = astronaut()
    found = FaceDetector().detect(rgb)
    assert found, "the detector must find the astronaut's face"
    points = FaceLandmarker().landmarks(rgb, found[0])
    assert points is not None
    return rgb, points


def test_landmarks_outline_the_detected_face(face):
    rgb, points = face
    box = FaceDetector().detect(rgb)[0].box
    x, y, w, h = box
    assert points.shape == (468, 2)
    inside = ((points[:, 0] >= x - 0.3 * w) & (points[:, 0] <= x + 1.3 * w)
              & (points[:, 1] >= y - 0.5 * h) & (points[:, 1] <= y + 1.3 * h))
    assert inside.mean() > 0.98
    # the outline spans most of the box: not a degenerate cluster
    assert np.ptp(points[:, 0]) > 0.7 * w and np.ptp(points[:, 1]) > 0.7 * h


def test_convex_hull_holds_every_point():
    rng = np.random.default_rng(1)
    points = rng.uniform(10, 90, (200, 2))
    hull = convex_hull(points)
    mask = hull_mask(points, (100, 100))
    assert 3 <= len(hull) < 200
    assert mask[np.round(points[:, 1]).astype(int), np.round(points[:, 0]).astype(int)].all()
    assert not mask[0, 0] and not mask[99, 99]


def test_the_same_seed_makes_the_same_fake(face):
    rgb, points = face
    first = self_blend(rgb, points, np.random.default_rng(7))
    again = self_blend(rgb, points, np.random.default_rng(7))
    other = self_blend(rgb, points, np.random.default_rng(8))
    assert np.array_equal(first.fake, again.fake) and np.array_equal(first.weights, again.weights)
    assert not np.array_equal(first.fake, other.fake)


@pytest.mark.parametrize("seed", SEEDS)
def test_pixels_outside_the_mask_are_unchanged(face, seed):
    rgb, points = face
    blend = self_blend(rgb, points, np.random.default_rng(seed))
    outside = ~blend.changed
    assert outside.any() and blend.changed.any()
    assert np.array_equal(blend.fake[outside], rgb[outside])
    # the changed region is local to the face: well under half of this 512² photo
    assert blend.changed.mean() < 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_the_mask_covers_the_landmarks(face, seed):
    rgb, points = face
    blend = self_blend(rgb, points, np.random.default_rng(seed))
    cols, rows = np.round(points).astype(int).T
    assert blend.hull[rows, cols].all()
    # erosion and deformation may pull the blend off the hull's very edge, never off the face
    assert blend.changed[rows, cols].mean() >= 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_the_fake_differs_where_it_was_blended(face, seed):
    rgb, points = face
    blend = self_blend(rgb, points, np.random.default_rng(seed))
    difference = np.abs(blend.fake.astype(int) - rgb.astype(int)).sum(axis=2)
    differs = difference > 0
    assert not differs[~blend.changed].any()
    # most blended pixels changed, and more so where the blend weight is high
    assert differs[blend.changed].mean() > 0.6
    strong, weak = blend.weights > 0.5 * blend.weights.max(), (blend.weights > 0) & (blend.weights < 0.1)
    assert difference[strong].mean() > difference[weak].mean()
