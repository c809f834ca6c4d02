"""A detector on a pretrained backbone: backbone features of the served face crop → a logistic head, at an
operating point that bounds false alarms.

The served file is one ONNX graph (`model.onnx`): the backbone (models/training/backbone.py) with the head appended,
so serving, the probe self-test, hashes, hot swap and the gate treat it like any model. Its outputs are
`fake_probability` (first: what the server serves) and `features` (what the head reads), so training,
calibration and retraining read the very features the served graph computes, through the served-model
contract (core.served_model.Scorer.features).

The operating point (`operating_point`): the "fake" threshold is the lowest at which at most
FALSE_ALARM_LIMIT of the real faces of *every* validation set score at or above it; the "real"
threshold is the highest at which at most MISS_LIMIT of the fakes of every validation set score below
it (capped at the fake threshold); in between, the verdict is "uncertain".
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.served_model import FEATURES_OUTPUT, Scorer

HEAD_PREFIX = "head/"
PROBABILITY_OUTPUT = "fake_probability"
FALSE_ALARM_LIMIT = 0.05     # at most 5% of real faces called fake, in every validation set
MISS_LIMIT = 0.10            # at most 10% of fakes called real, in every validation set
HEAD_CS = (0.001, 0.003, 0.01, 0.03, 0.1)
THRESHOLD_RULE = ("the lowest threshold at which at most {limit:.0%} of the real faces of every validation set "
                  "({sets}) score at or above it")
BAND_RULE = ("uncertain from the highest score below which at most {miss:.0%} of the fakes of every validation "
             "set fall, up to the fake threshold")


@dataclass(frozen=True)
class FeatureHead:
    """A linear head on backbone features, the standardisation folded in: logit = features · coef + intercept."""

    coef: np.ndarray        # F float32
    intercept: float

    def logits(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, np.float64) @ self.coef.astype(np.float64) + self.intercept

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(features)))


def fit_head(train_x: np.ndarray, train_y: np.ndarray, validation: dict[str, tuple[np.ndarray, np.ndarray]],
             weights: np.ndarray | None = None, cs: tuple[float, ...] = HEAD_CS) -> tuple[FeatureHead, dict]:
    """A standardised logistic regression; its C is the one with the best mean validation ROC AUC over the sets.

    Returns:
        The head (standardisation folded into its weights) and what to record: C, each C's AUCs.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(train_y)) < 2:
        raise ValueError(f"the head needs real and fake faces to learn from; found only label {np.unique(train_y)}")
    scaler = StandardScaler().fit(train_x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    standard = (train_x - scaler.mean_) / scale
    tried = []
    for c in cs:
        model = LogisticRegression(C=c, max_iter=5000).fit(standard, train_y, sample_weight=weights)
        coef = model.coef_[0] / scale
        head = FeatureHead(coef.astype(np.float32), float(model.intercept_[0] - np.dot(coef, scaler.mean_)))
        aucs = {name: float(roc_auc_score(y, head.logits(x))) for name, (x, y) in validation.items()
                if len(np.unique(y)) == 2}
        tried.append((float(np.mean(list(aucs.values()))) if aucs else 0.0, c, head, aucs))
    mean_auc, c, head, aucs = max(tried, key=lambda row: (round(row[0], 9), -row[1]))
    return head, {"model": "logistic regression on standardised features", "C": c,
                  "C_rule": f"the C in {list(cs)} with the best mean validation ROC AUC",
                  "validation_auc": aucs, "tried": [{"C": row[1], "mean_auc": row[0]} for row in tried]}


def operating_point(validation: dict[str, tuple[np.ndarray, np.ndarray]], false_alarm: float = FALSE_ALARM_LIMIT,
                    miss: float = MISS_LIMIT) -> tuple[float, tuple[float, float], dict]:
    """(fake threshold, uncertain band [real threshold, fake threshold), record) from validation scores.

    Args:
        validation: set name → (scores, labels 0 real / 1 fake).
    """
    fake_thresholds, real_thresholds = {}, {}
    for name, (scores, labels) in validation.items():
        scores, labels = np.asarray(scores, float), np.asarray(labels, int)
        reals, fakes = np.sort(scores[labels == 0]), np.sort(scores[labels == 1])
        if len(reals):
            allowed = int(np.floor(false_alarm * len(reals)))          # reals that may score at or above
            fake_thresholds[name] = float(np.nextafter(reals[len(reals) - allowed - 1], np.inf))
        if len(fakes):
            missed = int(np.floor(miss * len(fakes)))                  # fakes that may score below
            real_thresholds[name] = float(fakes[missed])
    if not fake_thresholds:
        raise ValueError("the operating point needs real faces in a validation set")
    threshold = min(1.0, max(fake_thresholds.values()))
    low = min(min(real_thresholds.values(), default=threshold), threshold)
    return threshold, (low, threshold), {"fake_threshold_by_set": fake_thresholds,
                                        "real_threshold_by_set": real_thresholds,
                                        "false_alarm_limit": false_alarm, "miss_limit": miss}


def compose(backbone, head: FeatureHead, out: Path) -> Path:
    """The served graph: the backbone (an onnx.ModelProto or file with a `features` output) + the head.

    Outputs: `fake_probability` (N×1) first, then `features`.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(backbone) if isinstance(backbone, (str, Path)) else backbone
    model = strip_head(model)
    graph = model.graph
    coef = numpy_helper.from_array(head.coef.astype(np.float32).reshape(-1, 1), HEAD_PREFIX + "coef")
    bias = numpy_helper.from_array(np.asarray([head.intercept], np.float32), HEAD_PREFIX + "intercept")
    graph.initializer.extend([coef, bias])
    graph.node.extend([
        helper.make_node("MatMul", [FEATURES_OUTPUT, coef.name], [HEAD_PREFIX + "dot"], name=HEAD_PREFIX + "dot"),
        helper.make_node("Add", [HEAD_PREFIX + "dot", bias.name], [HEAD_PREFIX + "logit"], name=HEAD_PREFIX + "add"),
        helper.make_node("Sigmoid", [HEAD_PREFIX + "logit"], [PROBABILITY_OUTPUT], name=HEAD_PREFIX + "sigmoid")])
    features = [output for output in graph.output if output.name == FEATURES_OUTPUT]
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info(PROBABILITY_OUTPUT, onnx.TensorProto.FLOAT, ["N", 1]),
                         *features])
    onnx.checker.check_model(model)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    return Path(out)


def strip_head(model):
    """A copy of a served graph without its head: the backbone alone, `features` its only output."""
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    if FEATURES_OUTPUT not in [output.name for output in graph.output]:
        raise ValueError(f"the graph has no {FEATURES_OUTPUT!r} output: not a backbone (models/training/backbone.py)")
    kept_nodes = [node for node in graph.node if not node.name.startswith(HEAD_PREFIX)]
    kept_init = [init for init in graph.initializer if not init.name.startswith(HEAD_PREFIX)]
    kept_out = [output for output in graph.output if output.name == FEATURES_OUTPUT]
    del graph.node[:], graph.initializer[:], graph.output[:]
    graph.node.extend(kept_nodes)
    graph.initializer.extend(kept_init)
    graph.output.extend(kept_out)
    return model


class FeatureCache:
    """Backbone features of crop files, cached per backbone and file content (features take ~20 ms a face)."""

    def __init__(self, scorer: Scorer, folder: Path | None) -> None:
        self.scorer = scorer
        self.folder = Path(folder) if folder else None

    def of(self, paths: list[str], progress=None) -> np.ndarray:
        from models.data.pipeline import load_images

        rows = []
        for index, path in enumerate(paths):
            cached = self._file(path)
            if cached is not None and cached.exists():
                rows.append(np.load(cached))
            else:
                row = self.scorer.features(load_images([path], self.scorer.rule.input_size))[0]
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cached, row)
                rows.append(row)
            if progress and (index + 1) % 1000 == 0:
                progress(f"  features of {index + 1} of {len(paths)} faces")
        size = len(rows[0]) if rows else 0
        return np.stack(rows) if rows else np.zeros((0, size), np.float32)

    def _file(self, path: str) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.npy"


def write_detector_folder(folder: Path, backbone, head: FeatureHead, rule, validation_sets: dict, test_sets: dict,
                          description: dict, version: str | None, robustness: bool = True,
                          progress=print, face_crop: bool = True) -> dict:
    """Compose the served graph, choose the operating point on the validation sets scored through it, then
    evaluate and write the folder (models.training.bundle.finish_folder). Returns the metadata.

    Args:
        backbone: the backbone graph (file or onnx.ModelProto; a served graph's old head is replaced).
        rule: the core.served_model.DataRule the backbone's features were computed under.
        validation_sets / test_sets: name → models.data.pipeline.Split.
    """
    from core.served_model import Runtime
    from models.evaluation.evaluate import score_split
    from models.evaluation.metrics import classification_report
    from models.training.bundle import finish_folder

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    compose(backbone, head, folder / "model.onnx")
    served = Scorer(Runtime(folder / "model.onnx", threads=2), rule)
    scored = {name: (score_split(served, split), np.asarray(split.labels)) for name, split in validation_sets.items()}
    threshold, band, point = operating_point(scored)
    progress(f"operating point: fake at >= {threshold:.4f}, uncertain from {band[0]:.4f}")
    validation_report = {name: classification_report(labels, scores, threshold, band)
                         for name, (scores, labels) in scored.items()}
    rules = {"threshold_rule": THRESHOLD_RULE.format(limit=point["false_alarm_limit"], sets=", ".join(validation_sets)),
             "band_rule": BAND_RULE.format(miss=point["miss_limit"]), "operating_point": point}
    return finish_folder(folder, served, threshold, band, validation_report, rules, test_sets, description, version,
                         None, robustness, face_crop, model_files=("model.onnx",))


def refit_head(model, train, weights: np.ndarray | None, validation_sets: dict) -> tuple[FeatureHead, dict]:
    """A new head for a served backbone model (retraining): fitted on the features `model` computes as served."""
    features = FeatureCache(model, None)
    validation = {name: (features.of(split.paths), np.asarray(split.labels)) for name, split in validation_sets.items()}
    return fit_head(features.of(train.paths), np.asarray(train.labels), validation, weights)


def is_backbone_model(folder: Path) -> bool:
    """A model folder built here (one ONNX graph with a head), as opposed to a Keras-trained one."""
    return not (Path(folder) / "model.keras").exists() and (Path(folder) / "model.onnx").exists()
