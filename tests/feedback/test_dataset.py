"""Retraining's base data follows the champion's data rule: face crops as served when it was trained on them."""
from __future__ import annotations

import numpy as np
from PIL import Image

from core.settings import Settings
from feedback.dataset import base_data
from models.data.prepare import Preparer
from tests.models.tiny_data import write_real_faces


def test_base_data_is_cropped_as_served_when_the_champion_was(tmp_path):
    base = write_real_faces(tmp_path / "base", {"Train": 3, "Validation": 2, "Test": 2}, seed=9)
    settings = Settings(instance_dir=tmp_path / "instance", base_data_dir=base)
    plain = base_data(settings, lambda message: None)
    cropped = base_data(settings, lambda message: None, face_crop=True)
    assert "face_crop" not in plain.description and cropped.description["face_crop"] is True
    assert [len(s.paths) for s in (cropped.train, cropped.validation, cropped.holdout)] == [3, 2, 2]
    assert cropped.train.labels == plain.train.labels
    reference = Preparer(tmp_path / "elsewhere")
    for original, crop in zip(plain.train.paths, cropped.train.paths):
        assert crop.startswith(str(settings.instance_path())) and crop != original
        assert np.array_equal(np.asarray(Image.open(crop)), np.asarray(Image.open(reference.crop(original)[0])))
