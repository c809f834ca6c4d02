"""Behavioural tests of the shipped model: direction (a manipulation raises the score) and invariance
(a horizontal flip or a light JPEG re-encode changes the score little), on synthetic images made from
package photos."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import models
from core.served_model import ServedModel
from models.data.synthetic import make_pair, sample_photos

PAIRS = 24
# Invariance bounds: mean and 90th percentile of |Δ P(fake)| over 48 images, and the share of verdicts
# (at the model's threshold) that must stay the same.
FLIP_MEAN, FLIP_P90, FLIP_SAME_VERDICT = 0.06, 0.15, 0.9
JPEG_QUALITY = 90
JPEG_MEAN, JPEG_P90, JPEG_SAME_VERDICT = 0.06, 0.15, 0.85


@pytest.fixture(scope="module")
def classifier() -> ServedModel:
    return ServedModel(models.DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def pairs() -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng(2026)
    photos = sample_photos()
    return [make_pair(rng, photos) for _ in range(PAIRS)]


@pytest.fixture(scope="module")
def images(pairs) -> np.ndarray:
    """The 24 sources, then their 24 manipulated versions."""
    return np.stack([source for source, _, _ in pairs] + [fake for _, fake, _ in pairs])


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _same_verdict(a: np.ndarray, b: np.ndarray, threshold: float) -> float:
    return float(((a >= threshold) == (b >= threshold)).mean())


def test_manipulated_image_scores_higher_than_its_source(classifier, images):
    scores = classifier.fake_probabilities(images)
    sources, fakes = scores[:PAIRS], scores[PAIRS:]
    higher = fakes > sources
    assert higher.mean() >= 0.8, f"only {higher.sum()} of {PAIRS} manipulated images scored above their source"
    assert float(np.median(fakes - sources)) > 0.2


def test_scores_are_stable_under_a_horizontal_flip(classifier, images):
    """The shipped model turns every crop to one orientation (core/orientation.py) and its head
    weighs both sides of a face alike; without that its scores moved by 0.096 on average under a flip."""
    scores = classifier.fake_probabilities(images)
    flipped = classifier.fake_probabilities(images[:, :, ::-1])
    change = np.abs(flipped - scores)
    assert change.mean() <= FLIP_MEAN and np.quantile(change, 0.9) <= FLIP_P90, change.round(3)
    assert _same_verdict(scores, flipped, classifier.info.threshold) >= FLIP_SAME_VERDICT


def test_a_jpeg_q90_re_encode_moves_the_score_little(classifier, images):
    scores = classifier.fake_probabilities(images)
    encoded = classifier.fake_probabilities(np.stack([_jpeg(image, JPEG_QUALITY) for image in images]))
    change = np.abs(encoded - scores)
    assert change.mean() <= JPEG_MEAN and np.quantile(change, 0.9) <= JPEG_P90, change.round(3)
    assert _same_verdict(scores, encoded, classifier.info.threshold) >= JPEG_SAME_VERDICT


SELF_BLEND_COPIES = 6


@pytest.mark.parametrize("portrait", ["astronaut", "grace_hopper"])
def test_a_self_blended_fake_scores_higher_than_its_source(classifier, portrait, tmp_path):
    """Face-swap-like fakes (models.data.selfblend) of a package portrait, as the server would crop them."""
    from models.data.prepare import Preparer

    photo = dict(sample_photos())[portrait]
    path = tmp_path / f"{portrait}.jpg"
    Image.fromarray(photo).save(path, quality=92)
    preparer = Preparer(tmp_path / "cache", classifier.info.input_size, seed=11)

    def score(file: str) -> float:
        return float(classifier.fake_probabilities(np.asarray(Image.open(file).convert("RGB"))[None])[0])

    source = score(preparer.crop(path)[0])
    fakes = np.array([score(preparer.self_blend(path, copy)[0]) for copy in range(SELF_BLEND_COPIES)])
    assert (fakes > source).mean() >= 0.8, f"source {source:.3f}, fakes {fakes.round(3)}"
    assert float(np.median(fakes)) - source > 0.1, f"source {source:.3f}, fakes {fakes.round(3)}"
