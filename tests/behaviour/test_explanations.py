"""The occlusion map (core/explain.py): it finds evidence where a scorer keeps it, it is faithful to the
shipped model (hiding its hottest cells lowers the served score more than hiding random ones), and it
follows the served orientation rule (a mirrored crop gets the mirrored map)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import models
from core.explain import GRID, occlusion_map, to_grid
from core.served_model import DataRule, Scorer, ServedModel
from models.data.synthetic import sample_photos
from models.evaluation.explanations import deletion_falls

SIZE = 256


class _RegionRuntime:
    """A network whose fake evidence is the fine texture inside one known square (the outer edge of the
    test: the map under test only sees scores)."""

    def __init__(self, top: int, left: int, side: int) -> None:
        self.window = (slice(top, top + side), slice(left, left + side))

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        region = pixels[:, self.window[0], self.window[1]].astype(np.float64)
        texture = np.abs(np.diff(region, axis=2)).mean(axis=(1, 2, 3))
        return 1 / (1 + np.exp(-(texture - 10) / 3))


def test_the_map_finds_evidence_where_the_scorer_keeps_it():
    rng = np.random.default_rng(5)
    crop = np.full((SIZE, SIZE, 3), 128, np.uint8)
    crop[96:160, 32:96] = rng.integers(0, 256, (64, 64, 3))            # noisy square: the only evidence
    scorer = Scorer(_RegionRuntime(96, 32, 64), DataRule(SIZE))
    heatmap = occlusion_map(scorer, crop)
    inside = to_grid(np.pad(np.ones((64, 64)), ((96, SIZE - 160), (32, SIZE - 96))))
    assert heatmap.values.shape == (GRID, GRID) and heatmap.values.max() == 1.0
    share = (heatmap.values * inside).sum() / heatmap.values.sum()
    # the square covers 1/16 of the crop; patches overlapping it reach 3× its width, so most mass is near it
    assert share > 0.35, share
    row, column = np.unravel_index(np.argmax(heatmap.values), heatmap.values.shape)
    assert 5 <= row <= 10 and 1 <= column <= 6, (row, column)             # the hottest cell touches the square
    assert heatmap.base == pytest.approx(float(scorer.fake_probabilities(crop[None])[0]))


@pytest.fixture(scope="module")
def shipped() -> ServedModel:
    return ServedModel.load(models.DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def self_blended(shipped, tmp_path_factory) -> list[np.ndarray]:
    """Served crops of self-blended fakes of the package portraits (models/data/selfblend.py)."""
    from models.data.prepare import Preparer

    folder = tmp_path_factory.mktemp("blends")
    preparer = Preparer(folder / "cache", shipped.info.input_size, seed=3)
    crops = []
    for name, photo in sample_photos():
        path = folder / f"{name}.jpg"
        Image.fromarray(photo).save(path, quality=92)
        for copy in range(3):
            made = preparer.self_blend(path, copy)
            if made:
                crops.append(np.asarray(Image.open(made[0]).convert("RGB")))
    assert len(crops) >= 6
    return crops


def test_hiding_the_hottest_cells_lowers_the_served_score_more_than_random_cells(shipped, self_blended):
    rng = np.random.default_rng(7)
    top_falls, random_falls = [], []
    for crop in self_blended:
        top, random = deletion_falls(shipped, crop, occlusion_map(shipped, crop).values, rng)
        top_falls.append(top)
        random_falls.append(random)
    assert np.mean(top_falls) > 1.5 * np.mean(random_falls) + 0.2, (np.round(top_falls, 2), np.round(random_falls, 2))
    assert np.mean(np.asarray(top_falls) > np.asarray(random_falls)) >= 0.7


def test_a_mirrored_crop_gets_the_mirrored_map(shipped, self_blended):
    crop = self_blended[0]
    heatmap, mirrored = occlusion_map(shipped, crop), occlusion_map(shipped, crop[:, ::-1])
    assert heatmap.base == mirrored.base                          # the served rule: one orientation
    np.testing.assert_allclose(mirrored.values, heatmap.values[:, ::-1])


def test_the_base_of_a_map_is_the_served_score_bit_for_bit(shipped, self_blended):
    for crop in self_blended[:3]:
        assert occlusion_map(shipped, crop).base == float(shipped.fake_probabilities(crop[None])[0])
