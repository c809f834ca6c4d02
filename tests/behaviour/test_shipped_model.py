"""Behavioural tests of the shipped model: direction (a manipulation raises the score)."""
from __future__ import annotations

import numpy as np

import models
from models.synthetic import make_pair, sample_photos
from server.detector.classifier import Classifier

PAIRS = 24


def test_manipulated_image_scores_higher_than_its_source():
    classifier = Classifier(models.DEFAULT_MODEL_DIR)
    rng = np.random.default_rng(2026)
    photos = sample_photos()
    pairs = [make_pair(rng, photos) for _ in range(PAIRS)]
    sources = classifier.predict(np.stack([source for source, _, _ in pairs]))
    fakes = classifier.predict(np.stack([fake for _, fake, _ in pairs]))
    higher = fakes > sources
    assert higher.mean() >= 0.8, f"only {higher.sum()} of {PAIRS} manipulated images scored above their source"
    assert float(np.median(fakes - sources)) > 0.2
