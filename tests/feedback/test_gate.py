"""The gate rule, the per-image score and the stable feedback split: plain functions."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from feedback.dataset import in_holdout
from feedback.gate import (
    Evidence,
    best_on_record,
    feedback_report,
    image_scores,
    loss_improvement,
    paired_auc_noise,
    promotion_decision,
)


def _metrics(auc: float, log_loss: float, n: int = 20, version: str = "v") -> dict:
    return {"version": version, "base_holdout": {"roc_auc": auc}, "feedback_holdout": {"n": n, "log_loss": log_loss}}


def _evidence(noise: float = 0.02, reference: float = 0.90, low: float | None = 0.05) -> Evidence:
    return Evidence(auc_noise=noise, reference_auc=reference, reference_version="v0", loss_improvement=0.2,
                    loss_improvement_low=low, confidence=0.95)


def test_promotes_only_when_not_worse_on_base_and_better_beyond_chance_on_feedback():
    champion = _metrics(0.90, 0.60)
    decide = lambda challenger, evidence: promotion_decision(champion, challenger, evidence, 0.01, 10)  # noqa: E731
    promoted = decide(_metrics(0.895, 0.40), _evidence())
    assert promoted.promote and "lower bound 0.0500" in promoted.reason
    worse_base = decide(_metrics(0.88, 0.10), _evidence())
    assert not worse_base.promote and "worse on the base holdout" in worse_base.reason
    not_better = decide(_metrics(0.95, 0.40), _evidence(low=-0.01))
    assert not not_better.promote and "not better beyond chance" in not_better.reason and "-0.0100" in not_better.reason
    too_few = decide(_metrics(0.95, 0.10, n=3), _evidence())
    assert not too_few.promote and "only 3 reviewed images" in too_few.reason


def test_a_loss_beyond_the_holdouts_noise_is_refused_though_inside_the_tolerance():
    """The issue's poisoned run lost 0.0091 of ROC AUC, under the old fixed tolerance of 0.01."""
    decision = promotion_decision(_metrics(0.8656, 4.0986), _metrics(0.8565, 3.8872, n=12), _evidence(noise=0.004,
                                                                                                    reference=0.8656),
                                  0.01, 10)
    assert not decision.promote
    assert "0.0091 lower, more than the 0.0040 it may lose" in decision.reason


def test_slightly_worse_challengers_cannot_walk_the_figure_down():
    """Three runs each losing 0.004 (inside the noise of 0.005): the first two pass, the third would end 0.012
    below the best on record and is refused, though it is within the noise of its own champion."""
    reference, auc, promoted = 0.900, 0.900, []
    for _ in range(3):
        challenger = auc - 0.004
        decision = promotion_decision(_metrics(auc, 0.6), _metrics(challenger, 0.4),
                                      _evidence(noise=0.005, reference=reference), 0.01, 10)
        promoted.append(decision.promote)
        if decision.promote:
            auc = challenger
    assert promoted == [True, True, False]
    assert "best on record" in decision.reason and auc == pytest.approx(0.892)


def test_the_best_figure_on_record_counts_champions_and_promoted_challengers_of_the_same_holdout():
    base = {"kind": "folder", "path": "/data"}
    records = [
        {"decision": "promoted", "data": {"base": base}, "metrics": {"champion": _metrics(0.90, 0, version="a"),
                                                                      "challenger": _metrics(0.91, 0, version="b")}},
        {"decision": "rejected", "data": {"base": base}, "metrics": {"champion": _metrics(0.905, 0, version="b"),
                                                                      "challenger": _metrics(0.95, 0, version="c")}},
        {"decision": "promoted", "data": {"base": {"kind": "synthetic"}},
         "metrics": {"champion": _metrics(0.99, 0, version="x"), "challenger": _metrics(0.99, 0, version="y")}},
        {"decision": "skipped", "reason": "no labels"},
    ]
    assert best_on_record(records, base) == (0.91, "b")       # not the rejected 0.95, nor another holdout's 0.99
    assert best_on_record(records, {"kind": "other"}) is None


def test_the_noise_and_the_improvement_bound_come_from_paired_bootstraps():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 100)
    champion = np.clip(labels * 0.3 + rng.uniform(0, 0.7, 200), 0, 1)
    assert paired_auc_noise(labels, champion, champion) == 0.0                       # the same model: no noise
    nudged = np.clip(champion + rng.normal(0, 0.05, 200), 0, 1)
    noise = paired_auc_noise(labels, champion, nudged)
    assert 0 < noise < 0.02
    assert paired_auc_noise(labels, champion, nudged) == noise                       # seeded: the same every run
    truth = np.zeros(12, int)
    better = loss_improvement(truth, np.full(12, 0.6), np.full(12, 0.2), 0.95)
    assert better[0] == pytest.approx(np.log(0.8 / 0.4)) and better[1] == pytest.approx(better[0])
    mixed = loss_improvement(truth, np.full(12, 0.5), np.r_[np.full(6, 0.1), np.full(6, 0.8)], 0.95)
    assert mixed[0] < 0.1 and mixed[1] < 0                                           # half better, half worse


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
