"""The served ONNX runtime model agrees with the Keras model it was exported from."""
from __future__ import annotations

import numpy as np

import models
from core.served_model import ServedModel
from models.data.synthetic import make_fake, make_real, sample_photos

TOLERANCE = 1e-4


def test_shipped_runtime_matches_keras_within_tolerance():
    from models.training.architectures import load_keras

    folder = models.DEFAULT_MODEL_DIR
    keras_model = load_keras(folder / "model.keras")
    classifier = ServedModel(folder)
    rng = np.random.default_rng(7)
    photos = sample_photos()
    batch = np.stack([make_real(rng, photos) for _ in range(4)] + [make_fake(rng, photos)[0] for _ in range(4)])
    # the classifier applies the model's data rule (orientation, a JPEG re-encode of every crop) before scoring
    seen = classifier.prepare(batch)
    expected = np.asarray(keras_model(seen.astype(np.float32), training=False)).reshape(-1)
    served = classifier.fake_probabilities(batch)
    assert served.shape == expected.shape == (8,)
    assert np.max(np.abs(served - expected)) <= TOLERANCE
    # Not trivially equal because constant: the model tells these images apart.
    assert np.ptp(served) > 1e-3
