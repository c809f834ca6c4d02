"""The promotion gate: may a retrained challenger replace the champion? Plain functions on scores.

The rule (docs/retraining.md), in this order:
1. Enough evidence: at least `min_holdout` reviewed images are held out. Fewer cannot show that
   the challenger is better on reviewed labels, so the champion stays and the labels wait.
2. Not worse on the base holdout, by two measures:
   - against the champion, by no more than the base holdout's own noise: the standard deviation of
     the paired ROC AUC difference (challenger − champion) over bootstrap resamples of the holdout,
     at most `tolerance`. A loss inside the noise is no evidence of harm; one beyond it is.
   - against the reference, the best base-holdout ROC AUC on record for the same holdout (a promoted
     model's, or any champion's as measured in a run), by no more than `tolerance` in total. Losses
     inside the noise could otherwise add up run after run; this bounds them all together.
3. Better on the feedback holdout, beyond chance: the mean per-image drop in log loss (champion −
   challenger) has a one-sided `confidence` lower bound above zero (paired bootstrap). Log loss is a
   proper scoring rule, needs no threshold, and is defined when the held-out labels are all one class
   — the usual case, since most disputes say "this is real" — where ROC AUC is not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPSILON = 1e-7   # scores are clipped to [ε, 1-ε] so one confident mistake costs a lot, not infinity


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261207


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


@dataclass(frozen=True)
class Evidence:
    """What the gate measured beyond the two models' figures: the noise of the base holdout, the reference,
    and how sure the feedback improvement is."""
    auc_noise: float                  # bootstrap SD of the paired base-holdout ROC AUC difference
    reference_auc: float              # the best base-holdout ROC AUC on record (the champion's now, at least)
    reference_version: str
    loss_improvement: float | None    # mean per-image log-loss drop on the feedback holdout (champion − challenger)
    loss_improvement_low: float | None   # its one-sided lower bound at the gate's confidence
    confidence: float

    def to_json(self) -> dict:
        return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in self.__dict__.items()}


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by ranks (ties count half), for many bootstrap resamples."""
    from scipy.stats import rankdata

    positives = labels == 1
    count_pos, count_neg = int(positives.sum()), int((~positives).sum())
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - count_pos * (count_pos + 1) / 2) / (count_pos * count_neg))


def paired_auc_noise(labels, champion_scores, challenger_scores, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> float:
    """Standard deviation of (challenger − champion) ROC AUC over bootstrap resamples of the holdout, each
    class resampled on its own so every resample has both."""
    labels = np.asarray(labels, int)
    champion, challenger = np.asarray(champion_scores, float), np.asarray(challenger_scores, float)
    rng = np.random.default_rng(seed)
    reals, fakes = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    differences = np.empty(resamples)
    for index in range(resamples):
        chosen = np.concatenate([rng.choice(reals, len(reals)), rng.choice(fakes, len(fakes))])
        differences[index] = _auc(labels[chosen], challenger[chosen]) - _auc(labels[chosen], champion[chosen])
    return float(differences.std(ddof=1))


def image_losses(labels, scores) -> np.ndarray:
    """Each image's cross-entropy (its share of the log loss), scores clipped to [ε, 1-ε]."""
    labels = np.asarray(labels, int)
    clipped = np.clip(np.asarray(scores, float), EPSILON, 1 - EPSILON)
    return -(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))


def loss_improvement(labels, champion_scores, challenger_scores, confidence: float,
                     resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """The mean per-image log-loss drop (champion − challenger) and its one-sided lower bound at `confidence`
    (percentile of a paired bootstrap over the images)."""
    drops = image_losses(labels, champion_scores) - image_losses(labels, challenger_scores)
    rng = np.random.default_rng(seed)
    means = drops[rng.integers(0, len(drops), (resamples, len(drops)))].mean(axis=1)
    return float(drops.mean()), float(np.quantile(means, 1 - confidence))


def best_on_record(records: list[dict], base: dict) -> tuple[float, str] | None:
    """The best base-holdout ROC AUC in retraining records made on the same base holdout: each run's champion
    as measured, and each promoted challenger. None when there is none."""
    best = None
    for record in records:
        metrics = record.get("metrics") or {}
        if (record.get("data") or {}).get("base") != base:
            continue
        served = [metrics.get("champion")] + ([metrics.get("challenger")] if record.get("decision") == "promoted" else [])
        for model in served:
            auc = ((model or {}).get("base_holdout") or {}).get("roc_auc")
            if auc is not None and (best is None or auc > best[0]):
                best = (float(auc), model.get("version", "?"))
    return best


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
    from sklearn.metrics import brier_score_loss, roc_auc_score

    labels = np.asarray(labels, int)
    clipped = np.clip(np.asarray(scores, float), EPSILON, 1 - EPSILON)
    if not len(labels):
        return {"n": 0, "log_loss": None, "brier": None, "accuracy": None, "roc_auc": None,
                "balance": {"Real": 0, "Fake": 0}}
    return {"n": int(len(labels)), "log_loss": float(image_losses(labels, clipped).mean()),   # the bound's own loss
            "brier": float(brier_score_loss(labels, clipped, pos_label=1)),
            "accuracy": float(np.mean((clipped >= threshold).astype(int) == labels)),
            "roc_auc": float(roc_auc_score(labels, clipped)) if len(np.unique(labels)) == 2 else None,
            "balance": {"Real": int((labels == 0).sum()), "Fake": int((labels == 1).sum())}}


def promotion_decision(champion: dict, challenger: dict, evidence: Evidence, tolerance: float,
                       min_holdout: int) -> Decision:
    """Apply the gate to both models' metrics; the reason says why, in numbers.

    Args:
        champion, challenger: {"base_holdout": {"roc_auc", …}, "feedback_holdout": {"n", "log_loss", …}},
            measured on the very same images.
        evidence: the noise, the reference and the feedback improvement's bound (`Evidence`).
        tolerance: base-holdout ROC AUC a challenger may lose: per run, at most the noise up to this; in
            total from the reference, this.
        min_holdout: held-out reviewed images needed to promote.
    """
    held_out = challenger["feedback_holdout"]["n"]
    if held_out < min_holdout:
        return Decision(False, f"only {held_out} reviewed images are held out; the gate needs {min_holdout} "
                               "(DFG_RETRAIN_MIN_HOLDOUT) to show the challenger is better on reviewed labels; "
                               "the labels wait for the next run")
    old_auc, new_auc = champion["base_holdout"]["roc_auc"], challenger["base_holdout"]["roc_auc"]
    allowed = min(evidence.auc_noise, tolerance)
    if new_auc < old_auc - allowed:
        return Decision(False, f"worse on the base holdout: ROC AUC {new_auc:.4f} vs the champion's {old_auc:.4f}, "
                               f"{old_auc - new_auc:.4f} lower, more than the {allowed:.4f} it may lose (the "
                               f"holdout's noise, a paired bootstrap SD of {evidence.auc_noise:.4f}, capped at the "
                               f"tolerance {tolerance:g})")
    if new_auc < evidence.reference_auc - tolerance:
        return Decision(False, f"worse on the base holdout than the best on record: ROC AUC {new_auc:.4f} vs "
                               f"{evidence.reference_auc:.4f} ({evidence.reference_version}), more than the tolerance "
                               f"{tolerance:g} lower in total")
    old_loss, new_loss = champion["feedback_holdout"]["log_loss"], challenger["feedback_holdout"]["log_loss"]
    low, confidence = evidence.loss_improvement_low, evidence.confidence
    if low is None or not low > 0:
        return Decision(False, f"not better beyond chance on the {held_out} held-out reviewed images: log loss "
                               f"{old_loss:.4f} → {new_loss:.4f}, a drop of {evidence.loss_improvement or 0:.4f} per "
                               f"image whose {confidence:.0%} lower bound is {low if low is not None else 0:.4f}, "
                               "not above zero")
    return Decision(True, f"base-holdout ROC AUC {old_auc:.4f} → {new_auc:.4f} (noise {evidence.auc_noise:.4f}, "
                          f"best on record {evidence.reference_auc:.4f}, tolerance {tolerance:g}); log loss on "
                          f"{held_out} held-out reviewed images {old_loss:.4f} → {new_loss:.4f}, a drop of "
                          f"{evidence.loss_improvement:.4f} per image ({confidence:.0%} lower bound {low:.4f})")
