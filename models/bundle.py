"""A servable model folder: Keras file, ONNX runtime file, calibrated metadata and the model card."""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from server.detector.classifier import METADATA_FILE, RUNTIME_FILE, Runtime

from .data import Split, load_images
from .export import PARITY_TOLERANCE, export_onnx, parity
from .metrics import choose_threshold, classification_report, uncertain_band

KERAS_FILE = "model.keras"
PARITY_SAMPLES = 32


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def score_split(runtime: Runtime, split: Split, size: int) -> np.ndarray:
    return runtime.predict(load_images(split.paths, size))


def new_version(arch: str) -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{arch}"


def write_model_folder(out_dir: str | Path, model, validation: Split, test_sets: dict[str, Split],
                       description: dict, version: str | None = None) -> dict:
    """Export, calibrate on validation data, evaluate on each test set and write the folder.

    Args:
        out_dir: the folder to (over)write.
        model: the trained keras.Model.
        validation: where the threshold and the uncertain band are chosen.
        test_sets: name → held-out files, each evaluated with the chosen threshold and band.
        description: training facts for the metadata (architecture, data, epochs, timings, seed …).
        version: the model version; a timestamped one by default.

    Returns:
        The metadata written to metadata.json.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    size = int(model.input_shape[1])
    model.save(out / KERAS_FILE)
    export_onnx(model, out / RUNTIME_FILE)
    runtime = Runtime(out / RUNTIME_FILE)

    validation_images = load_images(validation.paths, size)
    difference = parity(model, out / RUNTIME_FILE, validation_images[:PARITY_SAMPLES])
    if difference > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from Keras by {difference:.2e} (> {PARITY_TOLERANCE})")
    validation_scores = runtime.predict(validation_images)
    labels = np.asarray(validation.labels)
    threshold = choose_threshold(labels, validation_scores)
    band = uncertain_band(validation_scores, threshold)

    metrics = {name: classification_report(np.asarray(split.labels), score_split(runtime, split, size),
                                           threshold, band)
               for name, split in test_sets.items()}
    metadata = {
        "version": version or new_version(description.get("architecture", "model")),
        "output": "probability that the face crop (or whole image) is fake",
        "input_size": size,
        "threshold": round(threshold, 6),
        "uncertain_band": [round(band[0], 6), round(band[1], 6)],
        "threshold_rule": "maximise balanced accuracy (Youden's J) on the validation split",
        "band_rule": "the 10% of validation predictions nearest the threshold",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **description,
        "validation": classification_report(labels, validation_scores, threshold, band),
        "metrics": metrics,
        "parity_max_abs_diff": difference,
        "files": {name: sha256_file(out / name) for name in (KERAS_FILE, RUNTIME_FILE)},
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return metadata


def copy_history(checkpoint_dir: Path, out_dir: Path) -> None:
    for name in ("history.json", "history.csv"):
        if (checkpoint_dir / name).exists():
            shutil.copy(checkpoint_dir / name, out_dir / name)
