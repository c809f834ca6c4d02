"""A servable model folder: Keras file, ONNX runtime file, calibrated metadata, plots and the model card."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.landmark_head import HEAD_FILE, HeadWeights, LandmarkHead
from core.registry import sha256_file
from core.served_model import METADATA_FILE, RUNTIME_FILE, DataRule, Runtime, Scorer, probe_batch
from models.data.pipeline import Split, load_images
from models.evaluation.card import write_card
from models.evaluation.evaluate import evaluate_split, score_split
from models.evaluation.metrics import choose_threshold, classification_report, uncertain_band
from models.evaluation.plots import write_plots
from models.training.export import PARITY_TOLERANCE, export_onnx, parity

KERAS_FILE = "model.keras"
PARITY_SAMPLES = 32
THRESHOLD_RULE = "maximise balanced accuracy (Youden's J) on {split}"
BAND_RULE = "the 10% of predictions on {split} nearest the threshold"


def new_version(arch: str) -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{arch}"


def calibrate(scorer: Scorer, validation: Split) -> tuple[float, tuple[float, float], dict, np.ndarray]:
    """The threshold and uncertain band chosen on the validation split scored as served.

    Returns:
        (threshold, band, the validation report at them, the validation scores).
    """
    labels = np.asarray(validation.labels)
    scores = score_split(scorer, validation)
    threshold = choose_threshold(labels, scores)
    band = uncertain_band(scores, threshold)
    return threshold, band, classification_report(labels, scores, threshold, band), scores


def _parity(scorer: Scorer, model, validation: Split) -> float:
    """The ONNX export against Keras on validation crops as the network sees them."""
    crops = load_images(validation.paths[:PARITY_SAMPLES], scorer.rule.input_size)
    return parity(model, scorer.runtime.path, scorer.prepare(crops))


def write_model_folder(out_dir: str | Path, model, validation: Split | None, test_sets: dict[str, Split],
                       description: dict, version: str | None = None, history: dict | None = None,
                       reencode_quality: int | None = None, calibration: tuple[float, tuple[float, float]] | None = None,
                       robustness: bool = True, face_crop: bool = False, validation_name: str = "the validation split",
                       head: HeadWeights | None = None, canonical: bool = True) -> dict:
    """Export, calibrate on validation data, evaluate on each test set and write the folder.

    Args:
        out_dir: the folder to (over)write.
        model: the trained keras.Model (input raw 0–255 RGB, output P(fake)).
        validation: where the threshold and the uncertain band are chosen; None with `calibration`.
        validation_name: what `validation` is, for the threshold and band rules in the metadata.
        test_sets: name → held-out files, each evaluated with the chosen threshold and band and
            (with `robustness`) its robustness table; the first one also gets the plots.
        description: facts for the metadata (architecture, training_data, training, parent_version …).
        version: the model version; a timestamped one by default.
        history: the training history (for its plot).
        reencode_quality: the format-shortcut rule the model was trained with (applied to every
            evaluation here, and by the server to every crop).
        calibration: (threshold, band) to use as given when there is no validation data.
        robustness: measure the robustness table on every test set.
        face_crop: the files were made by the server's face crop (models.data.prepare); recorded in the
            data rule so that `evaluate` prepares test data the same way.
        head: a landmark head (core/landmark_head.py) to save with the model; the
            threshold, band and every figure are then those of the CNN and the head together.
        canonical: every crop is turned to its canonical orientation before it is scored
            (core/orientation.py), here and by the server: a mirror image scores the same.

    Returns:
        The metadata written to metadata.json.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    size = int(model.input_shape[1])
    model.save(out / KERAS_FILE)
    export_onnx(model, out / RUNTIME_FILE)
    runtime = Runtime(out / RUNTIME_FILE)
    if head is not None:
        head.save(out)
    # the model as it will be served: every figure below is measured through it
    scorer = Scorer(runtime, DataRule(size, reencode_quality or None, canonical),
                    LandmarkHead(head, num_threads=2) if head is not None else None)

    if validation is not None and validation.paths:
        difference = _parity(scorer, model, validation)
        threshold, band, validation_report, _ = calibrate(scorer, validation)
        rules = {"threshold_rule": THRESHOLD_RULE.format(split=validation_name),
                 "band_rule": BAND_RULE.format(split=validation_name)}
    elif calibration is not None:
        threshold, band = calibration
        validation_report = None
        difference = parity(model, runtime.path, probe_batch(size))
        rules = {"threshold_rule": "not calibrated (no validation data given): 0.5, as in the seed",
                 "band_rule": "not calibrated (no validation data given): empty"}
    else:
        raise ValueError("need validation data or an explicit calibration")
    if difference > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from Keras by {difference:.2e} (> {PARITY_TOLERANCE})")

    return finish_folder(out, scorer, threshold, band, validation_report, rules, test_sets, description, version,
                         history, robustness, face_crop, model_files=(KERAS_FILE, RUNTIME_FILE,
                                                                     *((HEAD_FILE,) if head is not None else ())),
                         extra={"parity_max_abs_diff": difference})


def data_rule_record(rule: DataRule, face_crop: bool) -> dict:
    """The data rule as metadata.json records it (DataRule.from_metadata reads it back)."""
    quality, canonical = rule.reencode_quality, rule.canonical_orientation
    record = {"reencode_jpeg_quality": quality,
              "rule": ("every image, real or fake, resized to the input size and re-encoded as JPEG at "
                       f"quality {quality} before training, evaluation and serving")
              if quality else "images used as decoded, no re-encode",
              "face_crop": face_crop, "canonical_orientation": canonical}
    if canonical:
        record["orientation_rule"] = ("every crop mirrored left to right where that puts its brighter side left, "
                                      "before scoring: a crop and its mirror image score the same")
    if face_crop:
        record["face_crop_rule"] = ("every image went through the server's decode, face detector and crop "
                                    "(its top face; the whole image when none) before training and evaluation")
    return record


def finish_folder(out: Path, scorer: Scorer, threshold: float, band: tuple[float, float], validation_report: dict | None,
                  rules: dict, test_sets: dict[str, Split], description: dict, version: str | None,
                  history: dict | None, robustness: bool, face_crop: bool, model_files: tuple[str, ...],
                  extra: dict | None = None) -> dict:
    """Evaluate the model as served on each test set at its threshold and band, then write plots, metadata.json
    (with every file's hash and the probe scores) and the card. Returns the metadata."""
    size = scorer.rule.input_size
    evaluations = {name: evaluate_split(scorer, split, name, threshold, band, robustness=robustness)
                   for name, split in test_sets.items() if split.paths}
    primary = next(iter(evaluations.values()), None)
    plots = write_plots(out, primary.labels, primary.scores, primary.report, primary.robustness, history,
                        primary.name) if primary else []
    metadata = {
        "version": version or new_version(description.get("architecture", "model")),
        "output": "probability that the face crop (or whole image) is fake",
        "input_size": size,
        "threshold": round(float(threshold), 6),
        "uncertain_band": [round(float(band[0]), 6), round(float(band[1]), 6)],
        **rules,
        "data_rule": data_rule_record(scorer.rule, face_crop),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent_version": None,
        **description,
        "validation": validation_report,
        "metrics": {name: evaluation.report for name, evaluation in evaluations.items()},
        "robustness": {"test_set": primary.name, "rows": primary.robustness} if primary and primary.robustness else None,
        "robustness_by_set": {name: evaluation.robustness for name, evaluation in evaluations.items()
                              if evaluation.robustness},
        "plots": plots,
        **(extra or {}),
        "probe": {"fake_probability": [round(float(v), 7) for v in scorer.runtime.predict(probe_batch(size))]},
    }
    metadata["files"] = {name: sha256_file(out / name) for name in (*model_files, *plots)}
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    write_card(out, metadata)
    return metadata


def copy_history(checkpoint_dir: Path, out_dir: Path) -> None:
    for name in ("history.json", "history.csv"):
        if (checkpoint_dir / name).exists():
            shutil.copy(checkpoint_dir / name, out_dir / name)
