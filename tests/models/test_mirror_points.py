"""`python -m models.training.mirror_points` measures the landmark pairing the head reads; the shipped file is its result."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from core.landmark_head import POINTS, LandmarkFinder, mirror_pairing
from models.training.mirror_points import measure_pairing
from tests.images import astronaut_face_crop


def _variants(count: int) -> np.ndarray:
    """The astronaut's served face crop, slightly rotated and brightened or darkened in turn."""
    crop = Image.fromarray(astronaut_face_crop())
    return np.stack([np.asarray(ImageEnhance.Brightness(crop.rotate((k % 5 - 2) * 3, resample=Image.BILINEAR))
                                .enhance(0.8 + 0.02 * k)) for k in range(count)])


def test_the_measured_pairing_is_the_shipped_one():
    pairing, summary = measure_pairing(_variants(24), LandmarkFinder())
    assert np.array_equal(pairing[pairing], np.arange(POINTS))
    np.testing.assert_array_equal(pairing, mirror_pairing())   # the shipped file
    assert summary["faces"] == 24 and summary["midline_points"] == 28 and summary["median_px"] < 3.5


def test_too_few_faces_are_refused():
    with pytest.raises(ValueError, match="need at least 20"):
        measure_pairing(_variants(5), LandmarkFinder())
