"""The backbone detector (models/training/detector.py): the false-alarm operating point, the served graph equal to the
training-time composition, and `train-detector` end to end on generated faces with a tiny backbone."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cli import main
from core.served_model import DataRule, Runtime, Scorer, ServedModel
from models.training.detector import FeatureHead, compose, operating_point, strip_head
from tests.models.tiny_data import tiny_backbone, write_faces_with_blurred_fakes, write_real_faces

SIZE = 224


def _crops(tmp_path, count: int = 6) -> np.ndarray:
    root = write_real_faces(tmp_path / "faces", {"Test": count}, seed=4, size=SIZE)
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted((root / "Test" / "Real").glob("*"))])


def test_the_fake_threshold_bounds_false_alarms_in_every_validation_set():
    rng = np.random.default_rng(0)
    sets = {name: (np.concatenate([rng.beta(a, 5, 200), rng.beta(5, b, 100)]), np.repeat([0, 1], [200, 100]))
            for name, a, b in (("easy", 1, 1), ("hard", 3, 2), ("harder", 4, 3))}
    threshold, (low, high), record = operating_point(sets)
    assert high == threshold and low <= threshold
    for name, (scores, labels) in sets.items():
        assert np.mean(scores[labels == 0] >= threshold) <= 0.05, name
        assert np.mean(scores[labels == 1] < low) <= 0.10, name
    # the bound is tight for the hardest set: a threshold just below lets more than 5% of its reals through
    hardest = max(record["fake_threshold_by_set"], key=record["fake_threshold_by_set"].get)
    scores, labels = sets[hardest]
    below = np.max(scores[(labels == 0) & (scores < threshold)])
    assert np.mean(scores[labels == 0] >= below) > 0.05


def test_the_served_graph_is_the_head_on_the_served_features(tmp_path):
    backbone = tiny_backbone(tmp_path / "backbone.onnx")
    head = FeatureHead(np.random.default_rng(1).normal(size=16).astype(np.float32), -0.3)
    served_file = compose(backbone, head, tmp_path / "model.onnx")
    rule = DataRule(SIZE, 90, True)
    served = Scorer(Runtime(served_file), rule)
    crops = _crops(tmp_path)
    features = served.features(crops)
    np.testing.assert_allclose(served.fake_probabilities(crops), head.probabilities(features), atol=1e-6)
    # the features the head reads are the backbone's own, on the crops as served
    np.testing.assert_allclose(features, Scorer(Runtime(backbone), rule).features(crops), atol=1e-6)
    import onnx

    stripped = strip_head(onnx.load(served_file))
    assert [o.name for o in stripped.graph.output] == ["features"]
    assert not any(node.name.startswith("head/") for node in stripped.graph.node)
    again = compose(stripped, FeatureHead(head.coef * 0, 2.0), tmp_path / "again.onnx")   # a new head replaces it
    np.testing.assert_allclose(Scorer(Runtime(again), rule).fake_probabilities(crops), 1 / (1 + np.exp(-2.0)),
                               atol=1e-6)


@pytest.mark.slow
def test_train_detector_writes_a_servable_calibrated_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # its caches go to ./.cache
    data = write_faces_with_blurred_fakes(tmp_path / "faces", {"Train": 24, "Validation": 20, "Test": 12}, 2.5)
    backbone = tiny_backbone(tmp_path / "backbone.onnx")
    out = tmp_path / "detector"
    result = CliRunner().invoke(main, ["train-detector", "--backbone", str(backbone), "--data", str(data),
                                       "--self-blend", "faces", "--out", str(out), "--version", "tiny-detector",
                                       "--no-robustness"])
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["input_size"] == SIZE and metadata["data_rule"]["canonical_orientation"]
    assert set(metadata["metrics"]) == {"faces test", "faces self-blended test"}
    assert set(metadata["validation"]) == {"faces validation", "faces self-blended validation"}
    for name, report in metadata["validation"].items():   # the bound holds where it was set
        assert report["false_alarm_rate"] <= 0.05, name
    model = ServedModel.load(out)   # hashes and probe check out; no TensorFlow, no Keras file
    assert model.version == "tiny-detector" and not (out / "model.keras").exists()
    assert metadata["metrics"]["faces test"]["roc_auc"] > 0.7   # blur is easy to see even for random filters
    assert "False alarms" in (out / "MODEL_CARD.md").read_text()

    # recalibrate: the same files at the same rule on the same data give the same operating point, measured again
    again = CliRunner().invoke(main, ["recalibrate", "--model", str(out), "--data", str(data), "--self-blend", "faces",
                                      "--out", str(tmp_path / "again"), "--version", "tiny-again"])
    assert again.exit_code == 0, again.output
    recalibrated = json.loads((tmp_path / "again" / "metadata.json").read_text())
    assert recalibrated["threshold"] == metadata["threshold"] and recalibrated["parent_version"] == "tiny-detector"
    assert recalibrated["metrics"]["faces test"]["roc_auc"] == metadata["metrics"]["faces test"]["roc_auc"]
    assert ServedModel.load(tmp_path / "again").version == "tiny-again"
