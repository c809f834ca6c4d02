"""The gate rule, the per-image score and the stable feedback split: plain functions."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from feedback.dataset import in_holdout
from feedback.gate import feedback_report, image_scores, promotion_decision


def _metrics(auc: float, log_loss: float, n: int = 20) -> dict:
    return {"base_holdout": {"roc_auc": auc}, "feedback_holdout": {"n": n, "log_loss": log_loss}}


def test_promotes_only_when_not_worse_on_base_and_better_on_feedback():
    champion = _metrics(0.90, 0.60)
    assert promotion_decision(champion, _metrics(0.895, 0.40), tolerance=0.01, min_holdout=10).promote
    worse_base = promotion_decision(champion, _metrics(0.88, 0.10), tolerance=0.01, min_holdout=10)
    assert not worse_base.promote and "worse on the base holdout" in worse_base.reason
    not_better = promotion_decision(champion, _metrics(0.95, 0.60), tolerance=0.01, min_holdout=10)
    assert not not_better.promote and "not better" in not_better.reason
    too_few = promotion_decision(champion, _metrics(0.95, 0.10, n=3), tolerance=0.01, min_holdout=10)
    assert not too_few.promote and "only 3 reviewed images" in too_few.reason


def test_an_image_scores_as_its_most_suspicious_crop():
    scores = image_scores(np.array([0.1, 0.7, 0.2, 0.4]), [0, 0, 1, 2])
    assert scores.tolist() == [0.7, 0.2, 0.4]


def test_feedback_report_with_one_class_has_log_loss_but_no_auc():
    report = feedback_report(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.9]), threshold=0.5)
    assert report["roc_auc"] is None and report["accuracy"] == pytest.approx(2 / 3)
    assert report["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.1])))
    assert feedback_report(np.array([0, 1]), np.array([0.0, 1.0]), 0.5)["log_loss"] < 1e-6   # clipped, finite


def test_feedback_split_is_stable_and_near_the_fraction():
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]
    first = [in_holdout(d, 0.2) for d in digests]
    assert first == [in_holdout(d, 0.2) for d in digests]          # the same answer every run
    assert 0.17 < np.mean(first) < 0.23
    # A larger fraction only adds images to the holdout: none moves from holdout into training.
    assert all(in_holdout(d, 0.3) for d, held in zip(digests, first) if held)
