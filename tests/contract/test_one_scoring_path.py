"""One scoring path: every caller of the served-model contract (core/served_model.py) gives a face the
score the server gives it, bit for bit, and no other code composes the model's preprocessing.

The callers: serving (core.check.Checker), `evaluate` (models.evaluation.evaluate), threshold and band
calibration (models.training.bundle.calibrate), the landmark head's fit (models.training.landmark_head.head_set), the
retraining gate (feedback.retrain.gate_scores). The model is the shipped default: it has every step
of the contract (canonical orientation, the q90 re-encode, a landmark head).
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.check import Checker, served_crops
from core.faces import FaceDetector
from core.intake import decode_image
from core.landmark_head import soft_or
from core.registry import DEFAULT_MODEL_DIR
from core.served_model import Scorer, ServedModel
from feedback.dataset import FeedbackSet
from feedback.retrain import gate_scores
from models.data.pipeline import Split
from models.evaluation.evaluate import evaluate_split, score_split
from models.training.bundle import calibrate
from models.training.landmark_head import head_set
from tests.images import coffee, jpeg
from tests.models.tiny_data import write_real_faces

ROOT = Path(__file__).resolve().parents[2]
MAX_PIXELS = 50_000_000


@pytest.fixture(scope="module")
def model() -> ServedModel:
    loaded = ServedModel.load(DEFAULT_MODEL_DIR)
    assert loaded.rule.canonical_orientation and loaded.rule.reencode_quality and loaded.head is not None
    return loaded


@pytest.fixture(scope="module")
def served(model, tmp_path_factory) -> tuple[Split, np.ndarray]:
    """Generated face photos checked as the server checks them; each crop the server scored saved losslessly
    (as models.data.prepare saves training and test crops), with the score the server gave it."""
    root = tmp_path_factory.mktemp("photos")
    write_real_faces(root, {"Test": 16}, seed=5)
    photos = [path.read_bytes() for path in sorted((root / "Test" / "Real").glob("*.jpg"))]
    photos.append(jpeg(coffee()))   # no face: the whole image is scored
    checker, faces = Checker(model, FaceDetector(), max_faces=8), FaceDetector()
    crops_dir = tmp_path_factory.mktemp("crops")
    split, scores = Split(), []
    for index, data in enumerate(photos):
        image = decode_image(data, MAX_PIXELS)
        assessment = checker.check(image)
        crops = served_crops(image.rgb, faces.detect(image.rgb)[:8], model.info.input_size)
        per_crop = [face.fake_probability for face in assessment.faces] or [assessment.fake_probability]
        assert len(per_crop) == len(crops)
        for number, (crop, score) in enumerate(zip(crops, per_crop)):
            path = crops_dir / f"{index:02d}-{number}.png"
            Image.fromarray(crop).save(path)
            split.add_prepared(str(path), index % 2, "", "")   # labels only give calibration two classes
            scores.append(score)
    assert len(scores) >= 10
    return split, np.asarray(scores)


def _as_served(scores: np.ndarray) -> np.ndarray:
    return np.asarray([round(float(score), 6) for score in scores])   # as the check answer rounds (core.check)


def test_evaluate_scores_what_the_server_scores(model, served):
    split, expected = served
    evaluation = evaluate_split(model, split, "generated", model.info.threshold, model.info.uncertain_band,
                                robustness=False)
    np.testing.assert_array_equal(_as_served(evaluation.scores), expected)
    np.testing.assert_array_equal(evaluation.scores, score_split(model, split))


def test_calibration_scores_what_the_server_scores(model, served):
    split, expected = served
    threshold, band, report, scores = calibrate(model, split)
    np.testing.assert_array_equal(_as_served(scores), expected)
    assert band[0] <= threshold <= band[1] and report["n"] == len(expected)


def test_the_landmark_head_is_fitted_on_what_the_server_scores(model, served):
    split, expected = served
    fitted = head_set("generated", split, Scorer(model.runtime, model.rule), model.head.finder)
    head_logits = np.where(fitted.found, model.head.weights.logits(fitted.features), -np.inf)
    assert fitted.found.sum() >= len(expected) - 2   # landmarks on the faces (not on the coffee cup)
    np.testing.assert_array_equal(_as_served(soft_or(fitted.cnn, head_logits)), expected)


def test_the_retraining_gate_scores_what_the_server_scores(model, served):
    split, expected = served
    feedback = FeedbackSet(holdout=split, holdout_groups=list(range(len(split.paths))),
                           holdout_labels=list(split.labels))
    base, feedback_scores = gate_scores(model, split, feedback)
    np.testing.assert_array_equal(_as_served(base.scores), expected)
    np.testing.assert_array_equal(_as_served(feedback_scores), expected)


def test_the_order_is_fixed_turn_then_reencode(model, served):
    """The contract's order is observable: re-encoding first and turning after gives other scores."""
    from core.orientation import canonical_orientation
    from core.served_model import reencode_jpeg

    split, expected = served
    crops = np.stack([np.asarray(Image.open(path)) for path in split.paths])
    other_order = model.score_prepared(canonical_orientation(reencode_jpeg(crops, model.rule.reencode_quality)))
    assert not np.array_equal(_as_served(other_order), expected)


def _calls(tree: ast.AST, names: set[str]) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called in names:
                lines.append(node.lineno)
    return lines


def test_no_other_code_composes_the_preprocessing():
    """Only DataRule.prepare turns and re-encodes crops for the model. Training's decode (models/data/pipeline.py)
    applies the format-shortcut re-encode to training images, where flips are augmentation; bench.scoring_paths
    rebuilds the order evaluation used before the contract, to show the difference."""
    allowed = {ROOT / "core" / "served_model.py", ROOT / "models" / "data" / "pipeline.py", ROOT / "bench" / "scoring_paths.py"}
    offenders = []
    for package in ("core", "server", "models", "feedback", "bench", "cli"):
        for path in (ROOT / package).rglob("*.py"):
            lines = _calls(ast.parse(path.read_text()), {"canonical_orientation", "reencode_jpeg"})
            if lines and path not in allowed:
                offenders.append(f"{path.relative_to(ROOT)}:{lines}")
    assert not offenders, f"preprocessing composed outside core/served_model.py: {offenders}"
