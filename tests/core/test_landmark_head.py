"""The landmark head at serving time: its features, the soft OR with the CNN, its file, and the ServedModel."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

import models
from core.landmark_head import (
    FEATURE_VERSION,
    FEATURES,
    HEAD_FILE,
    POINTS,
    HeadWeights,
    LandmarkFinder,
    head_inputs,
    landmark_features,
    mirror_pairing,
    soft_or,
)
from core.served_model import ModelError, ServedModel
from tests.images import astronaut_face_crop, coffee


def test_features_measure_colour_texture_and_layout_at_the_points():
    flat = np.zeros((64, 64, 3), np.uint8)
    flat[...] = (200, 100, 50)
    points = np.array([[10.0, 20.0]] * POINTS, np.float32)
    points[1] = (63.4, 0.2)
    features = landmark_features(flat, points)
    assert features.shape == (FEATURES,) and features.dtype == np.float32
    red, green, blue, texture, contrast, xs, ys = features.reshape(7, POINTS)
    assert np.allclose(red, 200 / 255) and np.allclose(green, 100 / 255) and np.allclose(blue, 50 / 255)
    assert np.all(texture < 1e-6) and np.all(contrast < 1e-6)   # a flat image has neither
    assert xs[0] == pytest.approx(10 / 64) and ys[1] == pytest.approx(0.2 / 64)

    textured = flat.copy()
    textured[::2, ::2] = 255                                 # a fine pattern around every point
    red, _, _, texture, contrast, _, _ = landmark_features(textured, points).reshape(7, POINTS)
    assert np.all(texture > 0.1) and np.all(contrast > 0.05) and red[0] > 200 / 255


def test_the_finder_places_landmarks_on_a_face_and_none_without_one():
    finder = LandmarkFinder()
    points = finder.points(astronaut_face_crop())
    assert points is not None and points.shape == (POINTS, 2)
    assert 0 < points[:, 0].min() and points[:, 0].max() < 256 and 0 < points[:, 1].min()
    rows, found = finder.features(np.stack([astronaut_face_crop(), np.asarray(Image.fromarray(coffee()).resize((256, 256)))]))
    assert found.tolist() == [True, False] and rows[0].any() and not rows[1].any()
    # the eyes lie in the upper half and the chin near the bottom, as the crop rule places a face
    eyes, chin = points[[33, 263]], points[152]
    assert eyes[:, 1].max() < 140 and chin[1] > 170, (eyes, chin)


@pytest.mark.parametrize("shrink", [0.65, 0.5])
def test_a_small_face_in_a_big_photo_is_cropped_at_the_scale_of_a_large_one(shrink):
    """The crop rule enlarges a small face (up to 2×, core/crops.py), so FaceMesh finds it
    where it finds a large one and the model sees the face at the size it learned."""
    from core.check import served_crops
    from core.faces import FaceDetector

    finder, large = LandmarkFinder(), astronaut_face_crop()
    side = round(256 * shrink)                        # the astronaut's face, ~100 and ~80 px wide
    photo = np.array(Image.fromarray(coffee()).resize((900, 700)))
    photo[300:300 + side, 500:500 + side] = np.asarray(Image.fromarray(large).resize((side, side), Image.LANCZOS))
    faces = FaceDetector().detect(photo)
    assert len(faces) == 1
    crop = served_crops(photo, faces, 256)[0]
    points, reference = finder.points(crop), finder.points(large)
    assert points is not None, "FaceMesh found no face where the crop rule puts it"

    def eye_distance(p: np.ndarray) -> float:
        return float(np.linalg.norm(p[33] - p[263]))

    assert eye_distance(points) == pytest.approx(eye_distance(reference), rel=0.1)
    assert np.median(np.linalg.norm(points - reference, axis=1)) < 12   # the same framing, a few px apart


def test_soft_or_lets_either_call_it_fake_and_keeps_the_cnn_without_landmarks():
    cnn = np.array([0.2, 0.2, 0.9, 0.5])
    head = np.array([-np.inf, 3.0, -5.0, 0.0])
    combined = soft_or(cnn, head)
    assert combined[0] == pytest.approx(0.2, abs=1e-9)          # no landmarks: the CNN's score
    assert combined[1] > 0.95                                    # a confident head raises it
    assert 0.9 <= combined[2] < 0.91                             # a doubtful head cannot lower the CNN
    assert combined[3] == pytest.approx(1 / (1 + np.exp(-np.log(2))), abs=1e-9)  # 1:1 odds + 1:1 → 2:1
    assert np.all(np.diff(soft_or(np.full(5, 0.3), np.linspace(-4, 4, 5))) > 0)


def _weights(offset: float = 0.0, seed: int = 0) -> HeadWeights:
    rng = np.random.default_rng(seed)
    return HeadWeights(rng.uniform(0, 1, FEATURES).astype(np.float32), rng.uniform(0.5, 2, FEATURES).astype(np.float32),
                       rng.normal(0, 0.05, FEATURES).astype(np.float32), 0.3, offset)


def test_weights_round_trip_and_a_stale_or_broken_file_is_refused(tmp_path):
    weights = _weights(offset=1.5)
    weights.save(tmp_path)
    loaded = HeadWeights.load(tmp_path)
    rows = np.random.default_rng(1).uniform(0, 1, (3, FEATURES)).astype(np.float32)
    np.testing.assert_allclose(loaded.logits(rows), weights.logits(rows), rtol=1e-6)
    assert loaded.offset == 1.5 and HeadWeights.load(tmp_path / "elsewhere") is None

    with open(tmp_path / HEAD_FILE, "wb") as handle:
        np.savez(handle, feature_version=99, mean=weights.mean, scale=weights.scale, coef=weights.coef,
                 intercept=0.0, offset=0.0)
    with pytest.raises(ValueError, match="version 99"):
        HeadWeights.load(tmp_path)
    with open(tmp_path / HEAD_FILE, "wb") as handle:
        np.savez(handle, feature_version=1, mean=weights.mean[:5], scale=weights.scale[:5], coef=weights.coef[:5],
                 intercept=0.0, offset=0.0)
    with pytest.raises(ValueError, match="weights per array"):
        HeadWeights.load(tmp_path)


def test_a_model_folder_with_a_head_scores_crops_through_both(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(models.DEFAULT_MODEL_DIR, folder)
    (folder / HEAD_FILE).unlink(missing_ok=True)
    crops = np.stack([astronaut_face_crop(), np.asarray(Image.fromarray(coffee()).resize((256, 256)))])
    plain = ServedModel(folder)
    assert plain.head is None
    cnn = plain.fake_probabilities(crops)

    weights = _weights(offset=4.0)
    weights.save(folder)
    headed = ServedModel(folder)
    scores = headed.fake_probabilities(crops)
    seen = headed.prepare(crops)[0]                # the crop as the model sees it (orientation, re-encode)
    expected_head = weights.logits(landmark_features(seen, headed.head.finder.points(seen)))
    assert scores[0] == pytest.approx(soft_or(cnn[:1], np.array([expected_head]))[0], abs=1e-6)
    assert scores[0] > cnn[0]                      # offset 4: the head's evidence adds to the CNN's
    assert scores[1] == pytest.approx(cnn[1], abs=1e-6)   # no face in the coffee cup: the CNN alone

    (folder / HEAD_FILE).write_bytes(b"not an npz file")
    with pytest.raises(ModelError, match="landmark head"):
        ServedModel(folder)


def test_each_landmark_is_paired_with_its_mirror_point():
    """FaceMesh on a mirrored face puts point i where the pairing's point was, so the version-2 head
    weighs both sides of a face alike and sees nearly the same inputs in a face and its mirror image."""
    pairing = mirror_pairing()
    assert np.array_equal(pairing[pairing], np.arange(POINTS))
    assert pairing[1] == 1 and pairing[152] == 152 and pairing[33] == 263   # nose tip, chin; the eyes' corners
    finder, crop = LandmarkFinder(), astronaut_face_crop()
    mirror = np.ascontiguousarray(crop[:, ::-1])
    points, mirrored = finder.points(crop), finder.points(mirror)
    mirrored[:, 0] = crop.shape[1] - mirrored[:, 0]
    distance = np.linalg.norm(mirrored - points[pairing], axis=1)
    assert np.median(distance) < 3.5 and np.median(np.linalg.norm(mirrored - points, axis=1)) > 10

    rows, _ = finder.features(np.stack([crop, mirror]))
    raw_change = np.abs(rows[0] - rows[1]).mean()
    averaged = head_inputs(rows, FEATURE_VERSION)
    assert np.abs(averaged[0] - averaged[1]).mean() < raw_change / 3
    np.testing.assert_array_equal(head_inputs(rows, 1), rows)   # version-1 heads read the features as they are


def test_a_version_1_head_still_loads_and_reads_the_features_as_they_are(tmp_path):
    weights = _weights(offset=0.0)
    with open(tmp_path / HEAD_FILE, "wb") as handle:
        np.savez(handle, feature_version=1, mean=weights.mean, scale=weights.scale, coef=weights.coef,
                 intercept=weights.intercept, offset=0.0)
    loaded = HeadWeights.load(tmp_path)
    assert loaded.feature_version == 1 and weights.feature_version == FEATURE_VERSION == 2
    rows = np.random.default_rng(3).uniform(0, 1, (4, FEATURES)).astype(np.float32)
    expected = ((rows - weights.mean) / weights.scale) @ weights.coef + weights.intercept
    np.testing.assert_allclose(loaded.logits(rows), expected, rtol=1e-5)
    assert not np.allclose(weights.logits(rows), expected, rtol=1e-3)
