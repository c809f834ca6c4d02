"""The promotion gate: may a retrained challenger replace the champion? Plain functions on scores.

The rule (docs/retraining.md):
1. Enough evidence: at least `min_holdout` reviewed images are held out. Fewer cannot show that
   the challenger is better on reviewed labels, so the champion stays and the labels wait.
2. Not worse on the base holdout: challenger ROC AUC >= champion ROC AUC - `tolerance`.
3. Better on the feedback holdout: a lower log loss (mean cross-entropy of each image's served
   score, the highest of its crops). Log loss is a proper scoring rule, needs no threshold, and is
   defined when the held-out labels are all one class — the usual case, since most disputes say
   "this is real" — where ROC AUC is not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPSILON = 1e-7   # scores are clipped to [ε, 1-ε] so one confident mistake costs a lot, not infinity


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def image_scores(crop_scores: np.ndarray, groups: list[int]) -> np.ndarray:
    """Each image's score as served: the highest score among its crops.

    Args:
        crop_scores: one score per crop.
        groups: the image index of each crop (0..n_images-1, every image at least one crop).
    """
    groups_array = np.asarray(groups)
    count = int(groups_array.max()) + 1 if len(groups_array) else 0
    scores = np.full(count, -np.inf)
    np.maximum.at(scores, groups_array, np.asarray(crop_scores, float))
    return scores


def feedback_report(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Log loss, Brier score, accuracy at the model's threshold (and ROC AUC with both classes)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    labels = np.asarray(labels, int)
    clipped = np.clip(np.asarray(scores, float), EPSILON, 1 - EPSILON)
    if not len(labels):
        return {"n": 0, "log_loss": None, "brier": None, "accuracy": None, "roc_auc": None,
                "balance": {"Real": 0, "Fake": 0}}
    return {"n": int(len(labels)), "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
            "brier": float(brier_score_loss(labels, clipped, pos_label=1)),
            "accuracy": float(np.mean((clipped >= threshold).astype(int) == labels)),
            "roc_auc": float(roc_auc_score(labels, clipped)) if len(np.unique(labels)) == 2 else None,
            "balance": {"Real": int((labels == 0).sum()), "Fake": int((labels == 1).sum())}}


def promotion_decision(champion: dict, challenger: dict, tolerance: float, min_holdout: int) -> Decision:
    """Apply the gate to both models' metrics.

    Args:
        champion, challenger: {"base_holdout": {"roc_auc", …}, "feedback_holdout": {"n", "log_loss", …}},
            measured on the very same images.
        tolerance: base-holdout ROC AUC the challenger may lose.
        min_holdout: held-out reviewed images needed to promote.
    """
    held_out = challenger["feedback_holdout"]["n"]
    if held_out < min_holdout:
        return Decision(False, f"only {held_out} reviewed images are held out; the gate needs {min_holdout} "
                               "(DFG_RETRAIN_MIN_HOLDOUT) to show the challenger is better on reviewed labels; "
                               "the labels wait for the next run")
    old_auc, new_auc = champion["base_holdout"]["roc_auc"], challenger["base_holdout"]["roc_auc"]
    if new_auc < old_auc - tolerance:
        return Decision(False, f"worse on the base holdout: ROC AUC {new_auc:.4f} vs the champion's {old_auc:.4f} "
                               f"(more than the tolerance {tolerance:g} lower)")
    old_loss, new_loss = champion["feedback_holdout"]["log_loss"], challenger["feedback_holdout"]["log_loss"]
    if not new_loss < old_loss:
        return Decision(False, f"not better on the {held_out} held-out reviewed images: log loss {new_loss:.4f} "
                               f"vs the champion's {old_loss:.4f}")
    return Decision(True, f"base-holdout ROC AUC {old_auc:.4f} → {new_auc:.4f} (tolerance {tolerance:g}); "
                          f"log loss on {held_out} held-out reviewed images {old_loss:.4f} → {new_loss:.4f}")
