"""Training data as served: the crops models.data.prepare makes are the very crops the server scores, and
`train --self-blend` learns from a folder of real faces alone."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import models
from cli import main
from core.check import Checker
from core.faces import FaceDetector
from core.intake import decode_image
from core.served_model import ServedModel, reencode_jpeg
from models.data.pipeline import load_image
from models.data.prepare import MAX_PIXELS, Preparer
from models.evaluation.robustness import CONDITIONS
from tests.images import astronaut, coffee, encode, jpeg
from tests.models.tiny_data import write_real_faces

SIZE = 256


class RecordingModel(ServedModel):
    """The shipped classifier, noting the crops the server's Checker hands it."""

    def __init__(self, folder) -> None:
        super().__init__(folder)
        self.seen: list[np.ndarray] = []

    def fake_probabilities(self, crops: np.ndarray) -> np.ndarray:
        self.seen.append(crops.copy())
        return super().fake_probabilities(crops)


@pytest.fixture(scope="module")
def server_detector() -> Checker:
    return Checker(RecordingModel(models.DEFAULT_MODEL_DIR), FaceDetector(), max_faces=8)


def _served_first_crop(detector: Checker, data: bytes) -> np.ndarray:
    detector.model.seen.clear()
    detector.check(decode_image(data, MAX_PIXELS))
    return detector.model.seen[0][0]


def _photos(tmp_path) -> dict[str, bytes]:
    canvas = np.full((960, 1280, 3), 90, np.uint8)
    canvas[300:556, 700:956] = np.asarray(Image.fromarray(astronaut()).resize((256, 256)))
    photos = {
        "portrait.jpg": jpeg(astronaut()),
        "no_face.jpg": jpeg(coffee()),                                  # scored whole, squeezed
        "small_face_in_large_photo.jpg": jpeg(canvas),
        "turned_by_exif.jpg": jpeg(np.rot90(astronaut()).copy(), exif_orientation=8),  # upright only after EXIF
        "portrait.png": encode(astronaut(), "PNG"),
    }
    for name, data in photos.items():
        (tmp_path / name).write_bytes(data)
    return photos


def test_training_crops_are_the_crops_the_server_scores(tmp_path, server_detector):
    preparer = Preparer(tmp_path / "cache", SIZE)
    for name, data in _photos(tmp_path).items():
        served = _served_first_crop(server_detector, data)
        crop_file, _ = preparer.crop(tmp_path / name)
        prepared = np.asarray(Image.open(crop_file))
        assert np.array_equal(prepared, served), name
        # and after the format-shortcut rule, training's decode equals the classifier's input
        assert np.array_equal(load_image(crop_file, SIZE, 90), reencode_jpeg(served[None], 90)[0]), name
    assert preparer.stats.without_face == 1 and preparer.stats.images == 5
    # a later run reads the crops from the cache and still knows which image had no face
    again = Preparer(tmp_path / "cache", SIZE)
    for name in _photos(tmp_path):
        again.crop(tmp_path / name)
        again.crop(tmp_path / name)   # counted once
    assert again.stats.without_face == 1 and again.stats.images == 5


def test_self_blended_crops_are_the_crops_the_server_scores(tmp_path, server_detector):
    (tmp_path / "portrait.jpg").write_bytes(jpeg(astronaut()))
    preparer = Preparer(tmp_path / "cache", SIZE, seed=3)
    crop_file, mask_file = preparer.self_blend(tmp_path / "portrait.jpg", 0)
    photo = preparer.self_blended_photo(tmp_path / "portrait.jpg", 0)
    served = _served_first_crop(server_detector, encode(photo.fake, "PNG"))
    assert np.array_equal(np.asarray(Image.open(crop_file)), served)
    mask = np.asarray(Image.open(mask_file))
    assert mask.shape == (SIZE, SIZE) and 0.05 < (mask > 0).mean() < 0.9   # the face, not the whole crop
    # cached: the second call reads the same files back
    assert preparer.self_blend(tmp_path / "portrait.jpg", 0) == (crop_file, mask_file)


@pytest.mark.slow
def test_train_self_blend_on_real_faces_alone_lowers_the_loss(tmp_path, monkeypatch):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)   # the prepared crops and checkpoints go to ./.cache
    data = write_real_faces(tmp_path / "faces", {"Train": 12, "Validation": 4, "Test": 4}, seed=5)
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--self-blend", "--self-blend-copies", "1",
                                       "--epochs", "4", "--batch-size", "8", "--augment", "none",
                                       "--out", str(out), "--version", "sbi-1"])
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "metadata.json").read_text())
    prep = metadata["training_data"]["preparation"]
    assert prep["face_crop"] and prep["self_blended"] == 12 + 4 + 4 and prep["self_blend_skipped"] == 0
    assert metadata["training"]["balance"]["Train"] == {"Real": 12, "Fake": 12}
    assert metadata["data_rule"]["face_crop"] is True
    assert set(metadata["metrics"]) == {"test", "self_blended_test"}
    assert metadata["metrics"]["self_blended_test"]["balance"] == {"Real": 4, "Fake": 4}
    assert "self_blended_test" in metadata["robustness_by_set"]
    losses = json.loads((out / "history.json").read_text())["loss"]
    assert min(losses[1:]) < losses[0], losses
    card = (out / "MODEL_CARD.md").read_text()
    assert "Self-blended fakes: 20 made" in card and "face swaps, through self-blended fakes" in card

    # evaluate puts it side by side with the shipped model, on the same self-blended test set
    compared = CliRunner().invoke(main, ["evaluate", "--model", str(out), "--model", str(models.DEFAULT_MODEL_DIR),
                                         "--data", str(data), "--self-blend", "--out", str(tmp_path / "eval")])
    assert compared.exit_code == 0, compared.output
    shipped = json.loads((models.DEFAULT_MODEL_DIR / "metadata.json").read_text())["version"]
    table = compared.output.split("side by side", 1)[1]
    assert "sbi-1" in table and shipped[:24] in table and "self_blended_test" in table and "ROC AUC" in table
    for version in ("sbi-1", shipped):
        results = json.loads((tmp_path / "eval" / version / "self_blended_test" / "evaluation.json").read_text())
        assert results["metrics"]["balance"] == {"Real": 4, "Fake": 4} and len(results["robustness"]) == len(CONDITIONS)
    # its drops are read from their own robustness rows; a mirror image changes no score of a model that
    # turns every crop to one orientation
    results = json.loads((tmp_path / "eval" / "sbi-1" / "self_blended_test" / "evaluation.json").read_text())
    drops = {row["condition"]: row["auc_drop"] for row in results["robustness"]}
    rows = {line.split(maxsplit=1)[1].rsplit(None, 2)[0]: line.split()[-2]    # figure → sbi-1's cell
            for line in table.splitlines() if line.strip().startswith("self_blended_test")}
    assert rows["AUC drop JPEG q60+0.5x"] == f"{drops['jpeg_q60+resize_0.5x']:.3f}"
    assert metadata["data_rule"]["canonical_orientation"]
    assert rows["AUC drop mirrored"] == "0.000" == f"{drops['mirror']:.3f}"


def test_self_blend_needs_a_data_folder(tmp_path):
    result = CliRunner().invoke(main, ["train", "--synthetic", "--self-blend", "--epochs", "1"])
    assert result.exit_code != 0 and "--self-blend makes fakes from --data" in result.output


def test_the_threshold_is_chosen_on_the_data_folders_validation_split(tmp_path):
    """With a data folder and the synthetic set, the calibration split is the data folder's own."""
    from models.data.trainset import assemble
    from tests.models.tiny_data import write_tiny_set

    faces = write_real_faces(tmp_path / "faces", {"Train": 2, "Validation": 2, "Test": 2}, seed=1)
    other = write_tiny_set(tmp_path / "other", 3, size=64, splits={"Validation": 3, "Test": 3})
    both = assemble(faces, other, other, face_crop=True, self_blend_copies=1, seed=1, cache_dir=tmp_path / "cache")
    assert both.calibration.balance() == {"Real": 2, "Fake": 2}            # the faces' reals and their blends
    assert both.splits["Validation"].balance() == {"Real": 2 + 3, "Fake": 2 + 3}   # checkpoints: everything
    assert both.calibration_name == "the validation split of faces"
    assert list(both.test_sets) == ["test", "self_blended_test", "synthetic_holdout"]
    alone = assemble(None, other, other, face_crop=False, self_blend_copies=0, seed=1, cache_dir=tmp_path / "cache")
    assert alone.calibration is alone.splits["Validation"] and alone.calibration_name == "the validation split"


def test_evaluate_reports_each_kind_of_fake_named_in_the_data_folders_manifest(tmp_path, monkeypatch):
    import csv

    from models.data.synthetic import write_dataset

    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "synthetic"
    write_dataset(data, {"Test": 16}, seed=3, progress=False, workers=1)
    with open(data / "manifest.csv", newline="") as handle:
        made = [row["manipulation"] for row in csv.DictReader(handle) if row["label"] == "Fake"]
    expected: dict[str, int] = {}
    for kind in made:
        name = "two manipulations" if "+" in kind else kind
        expected[name] = expected.get(name, 0) + 1
    assert len(expected) > 1, made   # the seed gives several kinds, or the test shows nothing
    result = CliRunner().invoke(main, ["evaluate", "--model", str(models.DEFAULT_MODEL_DIR), "--data", str(data),
                                       "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "eval" / "evaluation.json").read_text())["metrics"]["by_kind"]
    assert {row["kind"]: row["fakes"] for row in rows} == expected
    assert all(0.0 <= row["roc_auc"] <= 1.0 and 0.0 <= row["recall"] <= 1.0 for row in rows)
    assert "## By kind of fake" in (tmp_path / "eval" / "report.md").read_text()
    assert f"{rows[0]['kind']:>28}: {rows[0]['fakes']:>4} fakes" in result.output
