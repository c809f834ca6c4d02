"""The face detector and the face crop, on photos that packages ship (no project data needed)."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image
from skimage import data

from core.crops import CROP_SIZE, FACE_CROP_RAISE, FACE_CROP_SCALE, MAX_ENLARGEMENT, crop_face, face_square
from core.faces import FULL_RANGE, SHORT_RANGE, Face, FaceDetector, ssd_anchors

# Face boxes (x, y, w, h) read by eye off saved crops: brows to chin, cheek to cheek.
ASTRONAUT_FACE = (176, 78, 98, 100)
GRACE_FACE = (165, 145, 200, 195)
FACES_GAN = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces-gan" / "Test"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _grace() -> np.ndarray:
    return np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))


def _iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _pasted(photo: np.ndarray, face, face_px: int, canvas: tuple[int, int], at: tuple[int, int]):
    """photo scaled so its face is face_px wide, pasted at `at` on a no-face photo of size canvas;
    returns the canvas and where the face should be."""
    k = face_px / face[2]
    size = (round(photo.shape[1] * k), round(photo.shape[0] * k))
    small = Image.fromarray(photo).resize(size, Image.BILINEAR)
    background = Image.fromarray(data.rocket()).resize(canvas)
    background.paste(small, at)
    expected = (at[0] + face[0] * k, at[1] + face[1] * k, face[2] * k, face[3] * k)
    return np.asarray(background), expected


def test_anchors_follow_the_mediapipe_layout():
    short, full = ssd_anchors(SHORT_RANGE), ssd_anchors(FULL_RANGE)
    assert short.shape == (16 * 16 * 2 + 8 * 8 * 6, 2) and full.shape == (48 * 48, 2)
    # stride 8: two anchors per cell, x varying fastest; stride 16: six per cell
    np.testing.assert_allclose(short[:3], [[1 / 32, 1 / 32], [1 / 32, 1 / 32], [3 / 32, 1 / 32]])
    np.testing.assert_allclose(short[512:519], [[1 / 16, 1 / 16]] * 6 + [[3 / 16, 1 / 16]])
    np.testing.assert_allclose(full[[0, 1, 48]], [[1 / 96, 1 / 96], [3 / 96, 1 / 96], [1 / 96, 3 / 96]])


def test_astronaut_face_is_found_where_it_is(detector):
    faces = detector.detect(data.astronaut())
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, Face) and face.score > 0.8
    assert _iou(face.box, ASTRONAUT_FACE) > 0.75, face.box
    right_eye, left_eye, nose, mouth, right_ear, left_ear = face.keypoints
    # the subject's right eye is on the image's left; eyes above nose above mouth
    assert right_eye[0] < nose[0] < left_eye[0] and right_ear[0] < left_ear[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
    x, y, w, h = face.box
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in (right_eye, left_eye, nose, mouth))


def test_grace_hopper_face_is_found(detector):
    faces = detector.detect(_grace())
    assert len(faces) == 1 and _iou(faces[0].box, GRACE_FACE) > 0.75, faces


@pytest.mark.parametrize("canvas, at", [((1920, 1080), (1300, 500)), ((1920, 1080), (100, 40)),
                                        ((1024, 768), (600, 300))])
@pytest.mark.parametrize("face_px", [80, 120])
def test_small_face_in_a_large_photo_is_found(detector, canvas, at, face_px):
    rgb, expected = _pasted(data.astronaut(), ASTRONAUT_FACE, face_px, canvas, at)
    faces = detector.detect(rgb)
    assert faces and _iou(faces[0].box, expected) > 0.6, (faces, expected)


def test_short_range_model_alone_misses_a_small_face():
    """Why "auto" also runs the full-range model on tiles."""
    rgb, _ = _pasted(data.astronaut(), ASTRONAUT_FACE, 120, (1920, 1080), (1300, 500))
    assert FaceDetector(model="short_range").detect(rgb) == []


def test_rotated_image_gives_a_rotated_box(detector):
    image = data.astronaut()
    x, y, w, h = detector.detect(image)[0].box
    turned = np.ascontiguousarray(np.rot90(image))  # counter-clockwise: (x, y) -> (y, width - 1 - x)
    expected = (y, image.shape[1] - (x + w), h, w)
    faces = detector.detect(turned)
    assert faces and _iou(faces[0].box, expected) > 0.7, (faces[0].box, expected)


@pytest.mark.parametrize("photo", ["coffee", "rocket"])
@pytest.mark.parametrize("size", [None, (1920, 1080)])
def test_no_face_on_photos_without_people(detector, photo, size):
    rgb = getattr(data, photo)()
    if size:
        rgb = np.asarray(Image.fromarray(rgb).resize(size))
    assert detector.detect(rgb) == []


def test_two_faces_come_sorted_by_score(detector):
    canvas = np.zeros((600, 1024, 3), np.uint8)
    canvas[:512, :512] = data.astronaut()
    canvas[:, 512:] = _grace()
    faces = detector.detect(canvas)
    assert len(faces) == 2 and faces[0].score >= faces[1].score
    assert {_iou(f.box, ASTRONAUT_FACE) > 0.75 for f in faces} == {True, False}


def test_box_of_a_face_cut_by_the_border_is_clipped(detector):
    cut = np.ascontiguousarray(data.astronaut()[90:])  # the face loses its brows
    faces = detector.detect(cut)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert y == 0 and h > 0 and x + w <= cut.shape[1]
    expected = (ASTRONAUT_FACE[0], 0, ASTRONAUT_FACE[2], ASTRONAUT_FACE[1] + ASTRONAUT_FACE[3] - 90)
    assert _iou(faces[0].box, expected) > 0.7, (faces[0].box, expected)


def test_detect_is_thread_safe(detector):
    images = [data.astronaut(), _grace(), data.coffee()]
    expected = [detector.detect(image) for image in images]
    results, errors = {}, []

    def work(index: int) -> None:
        try:
            results[index] = [detector.detect(images[(index + i) % 3]) for i in range(3)]
        except Exception as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for index, got in results.items():
        assert got == [expected[(index + i) % 3] for i in range(3)]


def test_detect_rejects_what_is_not_rgb_uint8(detector):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        detector.detect(data.camera())
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        detector.detect(data.astronaut().astype(np.float32))
    with pytest.raises(ValueError, match="choose one of"):
        FaceDetector(model="back")


def test_face_square_is_centred_and_scaled():
    x, y, side, side2 = face_square((300, 400, 200, 240), (1000, 1000))
    assert side == side2 == round(FACE_CROP_SCALE * 240)
    assert abs(x + side / 2 - 400) <= 0.5
    assert abs(y + side / 2 - (520 - FACE_CROP_RAISE * 240)) <= 0.5
    assert face_square((0, 0, 10, 10), (20, 20), scale=3.0)[2] == 30
    with pytest.raises(ValueError, match="outside"):
        face_square((300, 300, 10, 10), (256, 256))


def test_crop_face_shape_and_dtype(detector):
    image = data.astronaut()
    face = detector.detect(image)[0]
    crop = crop_face(image, face.box)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3) and crop.dtype == np.uint8
    assert crop_face(image, face, size=128).shape == (128, 128, 3)  # a Face works as the box too


def test_a_small_face_is_enlarged_at_most_twice_and_stays_inside():
    x, y, side, _ = face_square((500, 300, 100, 100), (1000, 800))  # 1.62 × 100 = 162 px: enlarged 256/162×
    assert side == round(FACE_CROP_SCALE * 100)
    x, y, side, _ = face_square((900, 20, 60, 60), (1000, 800))  # 1.62 × 60 = 97 px: would need 2.6×
    assert side == CROP_SIZE // MAX_ENLARGEMENT == 128  # crop_face enlarges it 2×, with context around it
    assert 0 <= x and x + side <= 1000 and 0 <= y and y + side <= 800  # moved inside, nothing padded
    assert x <= 900 and x + side >= 960 and y <= 20 and y + side >= 80  # the face is still in it
    assert face_square((0, 0, 10, 10), (100, 60))[2] == 100  # never wider than the image's longer side


def test_crop_face_pads_by_repeating_the_edge_only_where_the_image_is_too_small():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)  # H 30 × W 40
    box = (0, 0, 20, 20)
    size = 32                                # 1.62 × 20: crop_face cuts it 1:1, so padding widths are exact
    x, y, side, _ = face_square(box, (40, 30), min_side=size // MAX_ENLARGEMENT)
    assert side == size and x == 0 and y < 0  # fits the width (moved inside), not the height
    crop = crop_face(image, box, size=size)
    top = -y
    assert (crop[:top] == crop[top]).all()  # rows above the image repeat the first image row
    np.testing.assert_array_equal(crop[top:], image[:side - top, :side])


@pytest.mark.parametrize("photo", [data.astronaut, _grace])
def test_crop_has_the_framing_of_aligned_ffhq_faces(detector, photo):
    """On the 1,600 faces-gan photos the eyes' midpoint sits at x 0.49-0.51, y 0.47-0.49 of the image,
    the mouth at y 0.72-0.78 and the eyes 0.22-0.28 apart (p5-p95): a crop must frame a face alike."""
    image = np.asarray(Image.fromarray(photo()).resize((1024, 1024 * photo().shape[0] // photo().shape[1])))
    crop = crop_face(image, detector.detect(image)[0])  # faces here are > 256/1.62 px: the 1.62 framing
    faces = detector.detect(crop)
    assert len(faces) == 1
    right_eye, left_eye, _, mouth, _, _ = np.array(faces[0].keypoints) / CROP_SIZE
    eyes = (right_eye + left_eye) / 2
    assert 0.46 <= eyes[0] <= 0.54 and 0.44 <= eyes[1] <= 0.52, eyes
    assert 0.70 <= mouth[1] <= 0.80, mouth
    assert 0.21 <= np.linalg.norm(left_eye - right_eye) <= 0.30
    # and cropping the crop gives it back
    assert _iou(face_square(faces[0], (CROP_SIZE, CROP_SIZE)), (0, 0, CROP_SIZE, CROP_SIZE)) > 0.85
    assert np.abs(crop_face(crop, faces[0]).astype(int) - crop).mean() < 20


@pytest.mark.skipif(not FACES_GAN.is_dir(), reason="needs ../shared/data/faces-gan (not in a fresh clone)")
def test_faces_gan_crops_reproduce_the_aligned_photos(detector):
    paths = sorted(FACES_GAN.glob("*/*.jpg"))[::16]
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        faces = detector.detect(rgb)
        assert faces, path
        assert _iou(face_square(faces[0], (256, 256)), (0, 0, 256, 256)) > 0.7, path
