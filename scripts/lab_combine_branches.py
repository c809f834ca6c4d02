"""Lab script (issue 31): several served models ("branches") combined by a rule fitted on validation splits.

Scores the served face crops of each data folder's Validation and Test splits, their self-blended twins and
the synthetic sets with every model folder given, fits combining rules on the validation sets (each set
weighted equally), and prints test ROC AUC per set beside each branch alone, with the false-alarm rate at
the lowest threshold that keeps at most 5% false alarms on every validation set. Figures in
docs/model-lab-notes.md ("Branches combined"). Needs the train extra; nothing here is served.

    .venv/bin/python scripts/lab_combine_branches.py --model models/default --model RUN/model-crops \\
        --model RUN/gan-branch --data ../shared/data/faces-gan --data ../shared/data/faces-swap \\
        --synthetic .cache/synthetic/seed20261126-T1500-V300 --holdout .cache/synthetic/seed20261127-T500
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import PolynomialFeatures

from core.served_model import ServedModel
from models.data.pipeline import Split, find_splits, load_images
from models.data.prepare import Preparer

RULES = {
    "linear": (lambda: LogisticRegression(C=1.0), lambda x: x),
    "quadratic": (lambda: LogisticRegression(C=0.3, max_iter=2000), lambda x: PolynomialFeatures(2).fit_transform(x)),
    "mlp": (lambda: MLPClassifier((16,), alpha=1e-2, max_iter=3000, random_state=0), lambda x: x),
}


def test_sets(size: int, data: list[Path], synthetic: Path, holdout: Path, cache: Path) -> dict[str, Split]:
    preparer = Preparer(cache, size, 1337)
    sets = {}
    for folder in data:
        splits, name = find_splits(folder), folder.name
        for part in ("Validation", "Test"):
            sets[f"{part[:4].lower()} {name}"] = preparer.split(splits[part], f"{name}-{part}")
            sets[f"{part[:4].lower()} {name} self-blended"] = preparer.self_blended_test(splits[part])
    sets["vali synthetic"] = preparer.split(find_splits(synthetic)["Validation"], "synthetic-Validation")
    sets["test synthetic"] = preparer.split(find_splits(holdout)["Test"], "synthetic-Test")
    return sets


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, action="append", required=True, help="a served model folder (repeat)")
    parser.add_argument("--data", type=Path, action="append", required=True, help="a data folder (repeat)")
    parser.add_argument("--synthetic", type=Path, required=True, help="a synthetic training folder (its Validation)")
    parser.add_argument("--holdout", type=Path, required=True, help="the synthetic holdout folder (its Test)")
    parser.add_argument("--cache", type=Path, default=Path(".cache"))
    args = parser.parse_args()

    scores: dict[str, dict[str, np.ndarray]] = {}
    labels: dict[str, np.ndarray] = {}
    for folder in args.model:
        model = ServedModel(folder)
        scores[folder.name] = {}
        for name, split in test_sets(model.info.input_size, args.data, args.synthetic, args.holdout, args.cache).items():
            scores[folder.name][name] = model.fake_probabilities(load_images(split.paths, model.info.input_size))
            labels[name] = np.asarray(split.labels, int)
    branches = list(scores)
    validation = [name for name in labels if name.startswith("vali")]
    tests = [name for name in labels if name.startswith("test")]

    def features(name: str) -> np.ndarray:
        return np.stack([logit(scores[branch][name]) for branch in branches], 1)

    print("ROC AUC on each test set")
    for branch in branches:
        print(f"  {branch:<40}", json.dumps({t[5:]: round(roc_auc_score(labels[t], scores[branch][t]), 3) for t in tests}))
    x = np.concatenate([features(name) for name in validation])
    y = np.concatenate([labels[name] for name in validation])
    weights = np.concatenate([np.full(len(labels[name]), len(y) / len(labels[name])) for name in validation])
    for rule, (make, transform) in RULES.items():
        combiner = make()
        try:
            combiner.fit(transform(x), y, sample_weight=weights)
        except TypeError:   # the MLP takes no weights
            combiner.fit(transform(x), y)
        combined = {name: combiner.predict_proba(transform(features(name)))[:, 1] for name in labels}
        threshold = max(np.quantile(combined[name][labels[name] == 0], 0.95) for name in validation)
        auc = {t[5:]: round(roc_auc_score(labels[t], combined[t]), 3) for t in tests}
        alarms = {t[5:]: round(float((combined[t][labels[t] == 0] >= threshold).mean()), 3) for t in tests}
        print(f"  {rule + ' rule':<40}", json.dumps(auc), "false alarms:", json.dumps(alarms))


if __name__ == "__main__":
    main()
