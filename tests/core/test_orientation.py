"""Canonical orientation: a crop and its mirror image become the same pixels, so they score the same."""
from __future__ import annotations

import json

import numpy as np

from core.orientation import brightness_lean, canonical_orientation
from core.served_model import ServedModel
from tests.images import astronaut, coffee
from tests.model_versions import model_copy


def _crops() -> np.ndarray:
    """Photos, seeded noise, a symmetric image and an asymmetric one whose brightness is balanced."""
    photos = [np.asarray(image[:256, :256]) for image in (astronaut(), coffee())]
    noise = np.random.default_rng(7).integers(0, 256, (4, 256, 256, 3), dtype=np.uint8)
    symmetric = np.zeros((256, 256, 3), np.uint8)
    symmetric[:, 64:192] = 200
    balanced = np.zeros((256, 256, 3), np.uint8)
    balanced[:128, :16] = 90          # the same brightness at the same distance left and right ...
    balanced[128:, -16:] = 90         # ... but not a mirror image (top left, bottom right)
    return np.stack(photos + list(noise) + [symmetric, balanced])


def test_a_crop_and_its_mirror_image_become_the_same_pixels():
    crops = _crops()
    mirrored = crops[:, :, ::-1]
    np.testing.assert_array_equal(canonical_orientation(mirrored), canonical_orientation(crops))
    lean = brightness_lean(crops)
    np.testing.assert_array_equal(brightness_lean(mirrored), -lean)
    assert lean[-2] == 0 and lean[-1] == 0          # the two ties: byte order decides the second one


def test_the_brighter_side_ends_up_left_and_nothing_else_changes():
    crops = _crops()
    turned = canonical_orientation(crops)
    assert np.all(brightness_lean(turned) <= 0)
    for crop, result in zip(crops, turned):        # each crop is kept or mirrored, never altered otherwise
        assert np.array_equal(result, crop) or np.array_equal(result, crop[:, ::-1])
    assert not np.array_equal(turned, crops)        # the noise crops lean both ways: some were mirrored
    right = np.zeros((1, 8, 8, 3), np.uint8)
    right[0, :, 6:] = 255
    assert canonical_orientation(right)[0, 0, :2].min() == 255 and canonical_orientation(right)[0, 0, 6:].max() == 0


def test_a_model_with_the_rule_scores_a_mirror_image_the_same_and_one_without_it_does_not(tmp_path):
    crops = _crops()[:6]
    # with the shipped model's JPEG re-encode, whose rounding is not mirror symmetric: the turn comes first
    rule = {"reencode_jpeg_quality": 90}
    without = ServedModel(model_copy(tmp_path / "plain", "plain", data_rule={**rule, "canonical_orientation": False}))
    with_rule = ServedModel(model_copy(tmp_path / "turned", "turned", data_rule={**rule, "canonical_orientation": True}))
    assert with_rule.info.rule.canonical_orientation and not without.info.rule.canonical_orientation
    np.testing.assert_array_equal(with_rule.fake_probabilities(crops[:, :, ::-1]), with_rule.fake_probabilities(crops))
    assert np.abs(without.fake_probabilities(crops[:, :, ::-1]) - without.fake_probabilities(crops)).max() > 1e-3
    assert json.loads((tmp_path / "turned" / "metadata.json").read_text())["data_rule"]["canonical_orientation"]
