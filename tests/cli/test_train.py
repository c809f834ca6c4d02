"""`deepfake-guard train` registers a version with everything in it; `evaluate` writes the report."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from core.registry import Registry
from models.evaluation.robustness import CONDITIONS
from tests.models.tiny_data import write_tiny_set

EXPECTED_PLOTS = {"plots/roc.png", "plots/pr.png", "plots/confusion_matrix.png", "plots/robustness.png",
                  "plots/training_history.png"}


@pytest.mark.slow
def test_train_registers_and_evaluate_reports(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(instance))
    monkeypatch.chdir(tmp_path)  # checkpoints go to ./.cache
    data = write_tiny_set(tmp_path / "data", 10, size=256, fake_count=14, splits={"Validation": 6, "Test": 6})
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "--data", str(data), "--epochs", "1", "--batch-size", "8",
                                   "--version", "tiny-v1", "--promote"])
    assert trained.exit_code == 0, trained.output
    assert "unbalanced classes" in trained.output and "jpeg_q60+resize_0.5x" in trained.output
    registry = Registry.for_instance(instance)
    assert registry.champion() == "tiny-v1"
    folder = registry.folder("tiny-v1")
    metadata = registry.verify("tiny-v1")  # every listed file is there with its hash
    assert set(metadata["plots"]) == EXPECTED_PLOTS and EXPECTED_PLOTS <= set(metadata["files"])
    assert {"model.keras", "model.onnx"} <= set(metadata["files"])
    assert metadata["data_rule"]["reencode_jpeg_quality"] == 90  # user data: the format-shortcut rule is on
    assert metadata["training"]["balance"]["Train"] == {"Real": 10, "Fake": 14}
    assert metadata["training"]["class_weights"]["real"] > 1 > metadata["training"]["class_weights"]["fake"]
    assert [row["condition"] for row in metadata["robustness"]["rows"]] == list(CONDITIONS)
    assert metadata["parent_version"] is None and metadata["created_at"]
    card = (folder / "MODEL_CARD.md").read_text()
    assert "## Robustness" in card and "![ROC curve](plots/roc.png)" in card and "quality 90" in card

    # Fine-tuning from the registered version records it as the parent.
    tuned = runner.invoke(main, ["train", "--data", str(data), "--epochs", "1", "--batch-size", "8",
                                 "--init", "tiny-v1", "--version", "tiny-v2"])
    assert tuned.exit_code == 0, tuned.output
    assert registry.metadata("tiny-v2")["parent_version"] == "tiny-v1"
    assert registry.champion() == "tiny-v1"  # registered, not promoted

    report_dir = tmp_path / "report"
    evaluated = runner.invoke(main, ["evaluate", "--model", "tiny-v2", "--data", str(data), "--out", str(report_dir)])
    assert evaluated.exit_code == 0, evaluated.output
    results = json.loads((report_dir / "evaluation.json").read_text())
    assert results["model_version"] == "tiny-v2" and results["metrics"]["n"] == 12
    assert len(results["robustness"]) == len(CONDITIONS) and results["robustness"][0]["auc_drop"] == 0.0
    assert {f"plots/{name}" for name in ("roc.png", "pr.png", "confusion_matrix.png", "robustness.png")} \
        <= set(results["plots"])
    assert all((report_dir / path).stat().st_size > 1000 for path in results["plots"])
    report = (report_dir / "report.md").read_text()
    assert "## Robustness" in report and "tiny-v2" in report

    # --out still writes a plain folder and leaves the registry alone.
    plain = runner.invoke(main, ["train", "--data", str(data), "--epochs", "1", "--out", str(tmp_path / "plain"),
                                 "--version", "plain-v1"])
    assert plain.exit_code == 0, plain.output
    assert (tmp_path / "plain" / "model.onnx").exists() and "plain-v1" not in registry.version_names()
