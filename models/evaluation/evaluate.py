"""Evaluation of a served model on held-out data: metrics, robustness, plots and a Markdown report."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.served_model import Scorer
from models.data.pipeline import Split, load_images
from models.evaluation.metrics import by_kind, classification_report
from models.evaluation.plots import write_plots
from models.evaluation.report import render_report
from models.evaluation.robustness import robustness_table

REPORT_FILE = "report.md"
RESULTS_FILE = "evaluation.json"


@dataclass
class Evaluation:
    """Scores and figures of one model on one test set."""

    name: str
    labels: np.ndarray
    scores: np.ndarray
    report: dict                      # models.evaluation.metrics.classification_report, plus the class balance
    robustness: list[dict] | None     # models.evaluation.robustness.robustness_table rows


def score_split(scorer: Scorer, split: Split) -> np.ndarray:
    """A split's files scored as served: decoded as they are, then `scorer` (the data rule, the network, the head).

    The crops in a prepared data folder are the server's own face crops (models.data.prepare), saved
    losslessly, so each file's score is the score the server gives that face.
    """
    return scorer.fake_probabilities(load_images(split.paths, scorer.rule.input_size))


def evaluate_split(scorer: Scorer, split: Split, name: str, threshold: float, band: tuple[float, float] | None,
                   robustness: bool = True) -> Evaluation:
    """Score a test split and measure everything the report and the card show.

    Args:
        scorer: the model (core.served_model: a loaded ServedModel, or a Scorer while a folder is built).
        split: test files and labels.
        name: what the test set is called in tables.
        threshold: the model's threshold; band: its uncertain band.
        robustness: also score the robustness conditions (needs both classes).
    """
    images = load_images(split.paths, scorer.rule.input_size)
    labels = np.asarray(split.labels).astype(int)
    scores = scorer.fake_probabilities(images)
    report = {**classification_report(labels, scores, threshold, band), "balance": split.balance()}
    kinds = by_kind(labels, scores, split.kind_list(), threshold)
    if len(kinds) > 1:   # one kind alone repeats the overall figures
        report["by_kind"] = kinds
    rows = None
    if robustness and len(np.unique(labels)) == 2:
        rows = robustness_table(scorer.fake_probabilities, images, labels, threshold)
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
