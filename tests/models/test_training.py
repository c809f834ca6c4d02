"""Training on tiny generated data: the loss goes down; class weights; the format-shortcut rule."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.data.pipeline import Split, class_weights, example_weights, find_splits, load_images
from tests.models.tiny_data import write_tiny_set

SIZE = 64


def _auc(model, split: Split) -> float:
    from sklearn.metrics import roc_auc_score

    images = load_images(split.paths, SIZE).astype(np.float32)
    return float(roc_auc_score(split.labels, np.asarray(model(images, training=False)).reshape(-1)))


@pytest.mark.slow
def test_short_training_run_lowers_the_loss(tmp_path):
    from models.training.train import fit

    write_tiny_set(tmp_path, 24, size=SIZE)
    splits = find_splits(tmp_path)
    result = fit(splits["Train"], splits["Validation"], epochs=6, seed=7, batch_size=8, augment="none",
                 input_size=SIZE, patience=10, checkpoint_dir=tmp_path / "run")
    losses = result.history["loss"]
    assert min(losses[1:]) < 0.5 * losses[0], losses
    # BatchNorm's moving statistics lag after 36 steps, so judge the served model by its ranking.
    assert _auc(result.model, splits["Validation"]) >= 0.9
    assert (tmp_path / "run" / "history.json").exists() and (tmp_path / "run" / "best.keras").exists()
    assert result.class_weights is None and result.epochs_run == 6


def test_class_weights_only_when_unbalanced(tmp_path):
    balanced = Split(paths=["x"] * 10, labels=[0] * 5 + [1] * 5)
    assert class_weights(balanced) is None
    unbalanced = Split(paths=["x"] * 10, labels=[0] * 2 + [1] * 8)
    weights = class_weights(unbalanced)
    assert weights == {0: pytest.approx(10 / 4), 1: pytest.approx(10 / 16)}
    per_example, _ = example_weights(unbalanced, base=[2.0] * 10)
    # Each class now carries half of the total weight.
    assert sum(w for w, y in zip(per_example, unbalanced.labels) if y == 0) == pytest.approx(10.0)
    assert sum(w for w, y in zip(per_example, unbalanced.labels) if y == 1) == pytest.approx(10.0)


def test_format_shortcut_rule_is_the_same_in_training_and_evaluation(tmp_path):
    """Real PNGs and fake JPEGs end up with the same JPEG q90 encoding, in tf.data and in evaluation alike."""
    from models.data.pipeline import dataset

    rng = np.random.default_rng(3)
    for label, fmt in (("Real", "PNG"), ("Fake", "JPEG")):
        (tmp_path / label).mkdir()
        for index in range(4):
            pixels = np.clip(128 + 60 * rng.standard_normal((SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{index}.{fmt.lower().replace('jpeg', 'jpg')}", fmt,
                                         **({"quality": 98} if fmt == "JPEG" else {}))
    split = Split()
    for label, value in (("Real", 0), ("Fake", 1)):
        for path in sorted((tmp_path / label).iterdir()):
            split.add(path, value, tmp_path / "Masks")
    raw = load_images(split.paths, SIZE)
    evaluated = load_images(split.paths, SIZE, reencode_quality=90)
    trained = np.concatenate([batch[0].numpy() for batch in
                              dataset(split, SIZE, 8, training=False, seed=0, reencode_quality=90)])
    # Training decodes and re-encodes with the evaluation's own code: the same pixels…
    np.testing.assert_array_equal(trained, evaluated.astype(np.float32))
    # …and the rule really re-encodes: noisy pixels change a lot at q90.
    assert np.abs(evaluated.astype(np.float32) - raw).mean() > 5
