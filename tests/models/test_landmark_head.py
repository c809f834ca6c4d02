"""`deepfake-guard add-landmark-head`: a head fitted on a data folder's photos, saved, calibrated and served."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import models
from cli import main
from core.landmark_head import HEAD_FILE
from core.served_model import ServedModel
from models.training.landmark_head import OFFSETS
from tests.models.tiny_data import write_faces_with_blurred_fakes, write_real_faces

COUNTS = {"Train": 16, "Validation": 8, "Test": 8}


def _faces_with_smoothed_fakes(root, fake_splits=tuple(COUNTS)):
    return write_faces_with_blurred_fakes(root, COUNTS, 1.5, fake_splits)


@pytest.mark.slow
def test_add_landmark_head_fits_saves_and_serves_a_head(tmp_path, monkeypatch):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)   # prepared crops go to ./.cache
    data = _faces_with_smoothed_fakes(tmp_path / "faces")
    out = tmp_path / "headed"
    result = CliRunner().invoke(main, ["add-landmark-head", "--model", str(models.DEFAULT_MODEL_DIR), "--data",
                                       str(data), "--out", str(out), "--version", "headed-1"])
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "metadata.json").read_text())
    parent = json.loads((models.DEFAULT_MODEL_DIR / "metadata.json").read_text())
    head = metadata["landmark_head"]
    assert metadata["parent_version"] == parent["version"] and metadata["version"] == "headed-1"
    # the shipped default already has a head: the new one replaces it (fitted beside the CNN alone)
    assert parent["architecture"].endswith(" + landmark head")
    assert metadata["architecture"] == parent["architecture"]
    assert head["train_balance"] == {"Real": 16, "Fake": 16} and head["offset"] in OFFSETS
    assert head["trained_on"] == "faces train"   # no --synthetic: the data folder's photos alone
    assert set(head["validation_auc"]["with_head"]) == {"faces validation"}
    # smoothed skin is plain in the texture at the landmarks: the head must find it
    assert head["validation_auc"]["with_head"]["faces validation"] >= 0.9, head
    assert metadata["metrics"]["test"]["roc_auc"] >= 0.85, metadata["metrics"]["test"]
    assert HEAD_FILE in metadata["files"] and (out / HEAD_FILE).is_file()
    # the parent's commands, where it was, then this one (argv: here pytest's, from a shell the command as typed)
    parent_lines = parent["rebuild_command"].splitlines()
    lines = metadata["rebuild_command"].splitlines()
    assert lines[:len(parent_lines)] == parent_lines and len(lines) == len(parent_lines) + 2
    assert lines[len(parent_lines)] == f"# then, with {parent['version']} in {models.DEFAULT_MODEL_DIR}:"
    card = (out / "MODEL_CARD.md").read_text()
    assert "Landmark head" in card and f"offset {head['offset']:+.1f}" in card

    served = ServedModel(out)
    assert served.head is not None and served.head.weights.offset == head["offset"]

    def head_logits(label: str) -> np.ndarray:   # the served head on the test photos, as the server crops them
        paths = sorted((data / "Test" / label).glob("*.jpg"))
        crops = np.stack([np.asarray(Image.open(path).convert("RGB")) for path in paths])
        return served.head.logits(served.prepare(crops))

    fakes, reals = head_logits("Fake"), head_logits("Real")
    assert np.isfinite(fakes).all() and np.isfinite(reals).all()   # every photo has its landmarks
    assert np.median(fakes) > np.median(reals)


def test_add_landmark_head_needs_both_classes_with_faces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_real_faces(tmp_path / "faces", COUNTS, seed=1)   # Real photos only
    result = CliRunner().invoke(main, ["add-landmark-head", "--model", str(models.DEFAULT_MODEL_DIR), "--data",
                                       str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "needs real and fake photos" in result.output


@pytest.mark.slow
def test_a_validation_split_without_fakes_is_reported_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)
    data = _faces_with_smoothed_fakes(tmp_path / "faces", fake_splits=("Train",))
    result = CliRunner().invoke(main, ["add-landmark-head", "--model", str(models.DEFAULT_MODEL_DIR), "--data",
                                       str(data), "--out", str(tmp_path / "out")])
    assert "faces validation: ROC AUC n/a (CNN alone) → n/a" in result.output   # no AUC to choose an offset by
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "needs real and fake images in the validation data; it has 8 real and 0 fake" in result.output


def test_a_second_set_of_real_photos_joins_the_heads_training():
    """add-landmark-head --synthetic adds the synthetic set's Train reals to the head's training set."""
    from core.landmark_head import FEATURES
    from models.training.landmark_head import HeadSet, fit_head, joined

    rng = np.random.default_rng(0)

    def head_set(name: str, labels: list[int]) -> HeadSet:
        labels = np.asarray(labels)
        features = (rng.normal(size=(len(labels), FEATURES)) + labels[:, None]).astype(np.float32)
        return HeadSet(name, labels, np.full(len(labels), 0.5), features, np.ones(len(labels), bool))

    own, reals = head_set("faces train", [0] * 10 + [1] * 10), head_set("synthetic train reals", [0] * 7)
    reals.found[-2:] = False                                   # two photos without a face
    both = joined(own, reals)
    assert both.name == "faces train + synthetic train reals"
    np.testing.assert_array_equal(both.labels, np.r_[own.labels, reals.labels])
    np.testing.assert_array_equal(both.features[20:], reals.features)
    _, record = fit_head(both, [own])
    assert record["trained_on"] == both.name
    assert record["train_balance"] == {"Real": 15, "Fake": 10} and record["train_without_landmarks"] == 2
