"""Fitting the landmark head (core/landmark_head.py) for a trained model.

The head is a logistic regression on the landmark features of a data folder's own Train photos,
Real against Fake, with the synthetic set's Train reals as further real photos when it is given (the
self-blended and synthetic fakes are the CNN's to catch). Those reals are faces of other photos
than the data folder's: without them the head called some of them GAN-made, and the synthetic
holdout's ROC AUC fell from the CNN's 0.867 to 0.844; with them it measured 0.868 (faces-gan Test
0.831 → 0.830, self-blended 0.773 → 0.761; faces-small_cnn-4, one run). Its offset in the
soft OR with the CNN is chosen on validation data: the one that maximises the mean ROC AUC over the
validation sets given (the data folder's photos, its self-blended fakes, the synthetic set), so a
gain on one kind of fake is not bought with a larger loss on another.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from core.landmark_head import FEATURE_VERSION, HeadWeights, LandmarkFinder, head_inputs, soft_or
from core.served_model import Scorer
from models.data.pipeline import Split, load_images

# L2 strength (scikit-learn's C) of the logistic regression: on faces-gan Test, C 0.03, 0.1 and 0.3
# gave ROC AUC 0.910, 0.908 and 0.904 (head alone, fitted on faces-gan Train, measured).
HEAD_C = 0.1
OFFSETS = tuple(float(v) for v in np.arange(-6.0, 6.01, 0.5))
OFFSET_RULE = ("the offset in [-6, 6] (steps of 0.5) that maximises the mean ROC AUC of the CNN and head together "
               "over the validation sets: {sets}")


@dataclass
class HeadSet:
    """One set's labels, CNN probabilities and head features, scored once and reused for every offset."""

    name: str
    labels: np.ndarray
    cnn: np.ndarray
    features: np.ndarray
    found: np.ndarray


def head_set(name: str, split: Split, network: Scorer, finder: LandmarkFinder) -> HeadSet:
    """Score a split with the network alone and find its landmark features, both on the crops as the new
    model will see them (`network.prepare`: the data rule of the model the head joins).

    Args:
        network: the model without a head (Scorer(runtime, rule)): its scores are the soft OR's first input.
    """
    if network.head is not None:
        raise ValueError("head_set needs the network alone (a Scorer without a head)")
    prepared = network.prepare(load_images(split.paths, network.rule.input_size))
    features, found = finder.features(prepared)
    return HeadSet(name, np.asarray(split.labels, int), network.score_prepared(prepared), features, found)


def joined(first: HeadSet, second: HeadSet) -> HeadSet:
    """Both sets as one training set (named after both)."""
    return HeadSet(f"{first.name} + {second.name}", np.concatenate([first.labels, second.labels]),
                   np.concatenate([first.cnn, second.cnn]), np.concatenate([first.features, second.features]),
                   np.concatenate([first.found, second.found]))


def fit_weights(train: HeadSet, c: float = HEAD_C) -> HeadWeights:
    """Standardise, then a logistic regression on the rows that have landmarks (offset 0)."""
    rows, labels = head_inputs(train.features[train.found], FEATURE_VERSION), train.labels[train.found]
    if len(np.unique(labels)) < 2:
        raise ValueError(f"the landmark head needs real and fake photos with a face in {train.name}; found "
                         f"{int((labels == 0).sum())} real and {int((labels == 1).sum())} fake")
    scaler = StandardScaler().fit(rows)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=c, max_iter=5000).fit((rows - scaler.mean_) / scale, labels)
    return HeadWeights(scaler.mean_.astype(np.float32), scale.astype(np.float32),
                       model.coef_[0].astype(np.float32), float(model.intercept_[0]), 0.0)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else None


def choose_offset(weights: HeadWeights, sets: list[HeadSet]) -> tuple[float, list[dict]]:
    """The offset with the best mean validation AUC (ties: the smallest |offset|), and every one tried."""
    logits = [np.where(s.found, weights.logits(s.features), -np.inf) for s in sets]
    tried = []
    for offset in OFFSETS:
        aucs = {s.name: _auc(s.labels, soft_or(s.cnn, logit + offset)) for s, logit in zip(sets, logits)}
        measured = [v for v in aucs.values() if v is not None]
        tried.append({"offset": offset, "mean_auc": float(np.mean(measured)) if measured else None, "auc": aucs})
    measured = [row for row in tried if row["mean_auc"] is not None]
    if not measured:   # no validation set with both classes: nothing to weigh, the head as fitted
        return 0.0, tried
    best = max(measured, key=lambda row: (round(row["mean_auc"], 9), -abs(row["offset"])))
    return best["offset"], tried


def fit_head(train: HeadSet, validation: list[HeadSet]) -> tuple[HeadWeights, dict]:
    """Fit the weights on `train`, choose the offset on `validation`; also what to record in the metadata."""
    started = time.perf_counter()
    weights = fit_weights(train)
    offset, tried = choose_offset(weights, validation)
    weights = replace(weights, offset=offset)
    cnn_only = {s.name: _auc(s.labels, s.cnn) for s in validation}
    chosen = next(row for row in tried if row["offset"] == offset)
    record = {"features": "colour, texture, local contrast and position at the 468 FaceMesh landmarks, each "
                          "point's averaged with its mirror point's (core/landmark_head.py, "
                          f"feature version {weights.feature_version})",
              "model": f"logistic regression, C={HEAD_C}", "trained_on": train.name, "train_balance": {
                  "Real": int(((train.labels == 0) & train.found).sum()),
                  "Fake": int(((train.labels == 1) & train.found).sum())},
              "train_without_landmarks": int((~train.found).sum()),
              "offset": offset, "offset_rule": OFFSET_RULE.format(sets=", ".join(s.name for s in validation)),
              "validation_auc": {"cnn_alone": cnn_only, "with_head": chosen["auc"]},
              "seconds": round(time.perf_counter() - started, 1)}
    return weights, record
