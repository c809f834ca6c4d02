"""Retraining a backbone detector (models/training/detector.py): the challenger keeps the champion's backbone, gets a head
refitted on the features it computes as served, goes through the same gate and, promoted, is served at once."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.served_model import DataRule, Runtime, Scorer, ServedModel
from feedback.retrain import retrain
from models.data.pipeline import find_splits
from models.evaluation.evaluate import load_images
from models.training.detector import fit_head, is_backbone_model, write_detector_folder
from tests.models.test_detector import tiny_backbone
from tests.retraining_loop import CHAMPION, Loop, feedback_images

pytestmark = pytest.mark.slow


def _backbone_champion(base, folder):
    folder.parent.mkdir(parents=True, exist_ok=True)
    backbone = tiny_backbone(folder.parent / "backbone.onnx")
    rule = DataRule(224, 90, True)
    network = Scorer(Runtime(backbone), rule)
    splits = find_splits(base)

    def features(split):
        # the base images are 64² without faces: served whole, squeezed to the input size
        from core.check import whole_image

        return network.features(np.stack([whole_image(image, 224) for image in load_images(split.paths, 64)]))

    head, record = fit_head(features(splits["Train"]), np.asarray(splits["Train"].labels),
                            {"validation": (features(splits["Validation"]), np.asarray(splits["Validation"].labels))})
    write_detector_folder(folder, backbone, head, rule, {"validation": splits["Validation"]},
                          {"test": splits["Test"]}, {"architecture": "tiny backbone + head", "feature_head": record},
                          CHAMPION, robustness=False, face_crop=False)
    return folder


def test_a_backbone_champions_challenger_refits_the_head_and_goes_through_the_gate(tmp_path, tiny_base):
    champion_folder = _backbone_champion(tiny_base, tmp_path / "champion" / CHAMPION)
    assert is_backbone_model(champion_folder)
    loop = Loop(tmp_path / "loop", tiny_base, champion_folder)
    checks = [loop.reviewed(data, truth) for data, truth in feedback_images(tmp_path / "feedback", 12, seed=1)]
    assert all(check["model_version"] == CHAMPION for check in checks)

    outcome = retrain(loop.settings, progress=print)
    assert outcome.decision in ("promoted", "rejected"), outcome.reason
    new = outcome.record["challenger"]
    folder = loop.registry.folder(new)
    assert is_backbone_model(folder) and not (folder / "model.keras").exists()
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["feature_head"]["refitted_from"] == CHAMPION and metadata["parent_version"] == CHAMPION
    challenger, champion = ServedModel.load(folder), ServedModel.load(champion_folder)
    crops = np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3)).astype(np.uint8)
    np.testing.assert_allclose(challenger.features(crops), champion.features(crops), atol=1e-6)   # same backbone
    assert not np.allclose(challenger.fake_probabilities(crops), champion.fake_probabilities(crops))  # new head
    fresh = feedback_images(tmp_path / "more", 1, seed=9)[0][0]
    assert loop.check(fresh)["model_version"] == (new if outcome.decision == "promoted" else CHAMPION)
