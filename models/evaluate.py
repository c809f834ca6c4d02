"""Evaluation of a served model on held-out data: metrics, robustness, plots and a Markdown report."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .data import Split, load_images
from .metrics import by_kind, classification_report
from .plots import write_plots
from .report import render_report
from .robustness import robustness_table

REPORT_FILE = "report.md"
RESULTS_FILE = "evaluation.json"


@dataclass
class Evaluation:
    """Scores and figures of one model on one test set."""

    name: str
    labels: np.ndarray
    scores: np.ndarray
    report: dict                      # models.metrics.classification_report, plus the class balance
    robustness: list[dict] | None     # models.robustness.robustness_table rows


def evaluate_split(predict: Callable[[np.ndarray], np.ndarray], split: Split, name: str, size: int,
                   threshold: float, band: tuple[float, float] | None,
                   reencode_quality: int | None = None, robustness: bool = True) -> Evaluation:
    """Score a test split and measure everything the report and the card show.

    Args:
        predict: N×S×S×3 uint8 images → N fake probabilities.
        split: test files and labels.
        name: what the test set is called in tables.
        size: the model's input size.
        threshold: the model's threshold; band: its uncertain band.
        reencode_quality: the format-shortcut rule the model was trained with (models.data).
        robustness: also score the robustness conditions (needs both classes).
    """
    images = load_images(split.paths, size, reencode_quality)
    labels = np.asarray(split.labels).astype(int)
    scores = predict(images)
    report = {**classification_report(labels, scores, threshold, band), "balance": split.balance()}
    kinds = by_kind(labels, scores, split.kind_list(), threshold)
    if len(kinds) > 1:   # one kind alone repeats the overall figures
        report["by_kind"] = kinds
    rows = None
    if robustness and len(np.unique(labels)) == 2:
        rows = robustness_table(predict, images, labels, threshold)
    return Evaluation(name, labels, scores, report, rows)


def write_evaluation(folder: Path, evaluation: Evaluation, metadata: dict, history: dict | None = None,
                     data_description: str = "") -> dict:
    """Write plots, evaluation.json and report.md for one evaluation into `folder`.

    Returns:
        What was written: {"report", "results", "plots": [paths relative to folder]}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plots = write_plots(folder, evaluation.labels, evaluation.scores, evaluation.report, evaluation.robustness,
                        history, evaluation.name)
    results = {"model_version": metadata.get("version"), "test_set": evaluation.name, "data": data_description,
               "metrics": evaluation.report, "robustness": evaluation.robustness, "plots": plots}
    (folder / RESULTS_FILE).write_text(json.dumps(results, indent=2))
    (folder / REPORT_FILE).write_text(render_report(metadata, evaluation.name, evaluation.report,
                                                    evaluation.robustness, plots, data_description))
    return {"report": REPORT_FILE, "results": RESULTS_FILE, "plots": plots}


def resolve_model(spec: str | Path | None, instance_dir: Path | None = None) -> Path:
    """The model folder for `spec`: a folder path, a registry version, or (None) what the server serves.

    What the server serves: the registry's champion, else the shipped default.
    """
    from . import DEFAULT_MODEL_DIR
    from .registry import Registry, RegistryError

    registry = Registry.for_instance(instance_dir) if instance_dir else None
    if spec is None:
        champion = registry.champion() if registry else None
        return registry.folder(champion) if champion else DEFAULT_MODEL_DIR
    path = Path(spec)
    if (path / "metadata.json").is_file():
        return path
    if registry is not None:
        try:
            return registry.folder(str(spec))
        except RegistryError as error:
            raise RegistryError(f"{spec!r} is neither a model folder nor a registered version: {error}") from error
    raise RegistryError(f"{spec!r} is not a model folder (no metadata.json)")
