"""Evaluation metrics, threshold choice and the uncertain band: plain functions on scores."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as sk

# The uncertain band holds this share of validation predictions: the ones nearest the threshold.
UNCERTAIN_COVERAGE = 0.10


def choose_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold that maximises balanced accuracy (Youden's J) on validation data.

    Ties go to the threshold nearest 0.5, so a well-calibrated model keeps the natural cut.
    """
    if len(np.unique(labels)) < 2:
        raise ValueError(f"choosing a threshold needs real and fake images in the validation data; it has "
                         f"{int(np.sum(np.asarray(labels) == 0))} real and {int(np.sum(np.asarray(labels) == 1))} "
                         "fake: add the missing class to the Validation split")
    fpr, tpr, thresholds = sk.roc_curve(labels, scores)
    finite = np.isfinite(thresholds)
    j = (tpr - fpr)[finite]
    candidates = thresholds[finite][j >= j.max() - 1e-12]
    return float(np.clip(candidates[np.argmin(np.abs(candidates - 0.5))], 0.0, 1.0))


def uncertain_band(scores: np.ndarray, threshold: float, coverage: float = UNCERTAIN_COVERAGE) -> tuple[float, float]:
    """The interval around the threshold holding `coverage` of the validation predictions.

    Predictions nearest the threshold are the least reliable ones, so the band is the smallest
    symmetric interval around it that holds the requested share.
    """
    if coverage <= 0:
        return threshold, threshold
    radius = float(np.quantile(np.abs(scores - threshold), coverage))
    return max(0.0, threshold - radius), min(1.0, threshold + radius)


def classification_report(labels: np.ndarray, scores: np.ndarray, threshold: float,
                          band: tuple[float, float] | None = None) -> dict:
    """Accuracy, precision, recall, F1, ROC AUC, AP and the confusion matrix at `threshold`.

    With a band, also the share of predictions inside it and the accuracy inside and outside.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=float)
    predicted = (scores >= threshold).astype(int)
    two_classes = len(np.unique(labels)) == 2
    tn, fp, fn, tp = sk.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    report = {
        "n": int(len(labels)),
        "threshold": float(threshold),
        "accuracy": float(sk.accuracy_score(labels, predicted)),
        "precision": float(sk.precision_score(labels, predicted, zero_division=0)),
        "recall": float(sk.recall_score(labels, predicted, zero_division=0)),
        "f1": float(sk.f1_score(labels, predicted, zero_division=0)),
        "roc_auc": float(sk.roc_auc_score(labels, scores)) if two_classes else None,
        "average_precision": float(sk.average_precision_score(labels, scores)) if two_classes else None,
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        # the user's view: real faces called fake, and fakes called fake, at the threshold
        "false_alarm_rate": float(fp / (tn + fp)) if tn + fp else None,
        "catch_rate": float(tp / (tp + fn)) if tp + fn else None,
    }
    if band is not None:
        inside = (scores >= band[0]) & (scores < band[1])
        correct = predicted == labels
        report["uncertain_band"] = [float(band[0]), float(band[1])]
        report["band_coverage"] = float(inside.mean())
        report["accuracy_inside_band"] = float(correct[inside].mean()) if inside.any() else None
        report["accuracy_outside_band"] = float(correct[~inside].mean()) if (~inside).any() else None
    return report


COMBINED_KIND = "two manipulations"   # fakes whose kind names several steps ("a+b"), pooled


def by_kind(labels: np.ndarray, scores: np.ndarray, kinds: list[str], threshold: float) -> list[dict]:
    """ROC AUC and recall per kind of fake: the fakes of each kind against all the reals.

    Fakes of several manipulations ("a+b") are pooled as COMBINED_KIND; fakes of unknown kind ("")
    are left out. Empty without reals or without any known kind.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=float)
    names = np.array([COMBINED_KIND if "+" in kind else kind for kind in kinds], dtype=object)
    reals = scores[labels == 0]
    rows = []
    if not len(reals):
        return rows
    for kind in sorted({name for name, label in zip(names, labels) if label == 1 and name}):
        fakes = scores[(labels == 1) & (names == kind)]
        both = np.r_[np.zeros(len(reals)), np.ones(len(fakes))]
        rows.append({"kind": kind, "fakes": int(len(fakes)),
                     "roc_auc": float(sk.roc_auc_score(both, np.r_[reals, fakes])),
                     "recall": float((fakes >= threshold).mean())})
    return rows
