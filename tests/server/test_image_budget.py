"""Every image is held to a budget: shape, decoded memory and face-detector calls (issue 18).

Hostile images that cost little to send: strips thousands of pixels long and one or two thin, a
4,000,000×12 PNG of 140 KB, a 7000×7000 RGBA PNG of 190 KB. None may answer 5xx, and what each one
costs is bounded by its header, not by luck. (Seconds and megabytes: bench/hostile.py.)
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, features

from core import faces as faces_module
from core import intake
from core.faces import FaceDetector
from core.intake import MAX_ASPECT_RATIO, decode_image
from core.problems import Problem
from tests.images import astronaut, encode, jpeg

MAX_PIXELS = 50_000_000


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    return encode(Image.new(mode, (width, height), 0), "PNG")


def _problem(data: bytes, **kwargs) -> Problem:
    with pytest.raises(Problem) as caught:
        decode_image(data, MAX_PIXELS, **kwargs)
    return caught.value


THIN = [(1000, 1), (1, 20000), (2000, 2), (961, 2), (4_000_000, 12), (12, 4_000_000)]


@pytest.mark.parametrize("size", THIN, ids=[f"{w}x{h}" for w, h in THIN])
def test_thin_images_get_a_clear_422_over_http(client, auth, size):
    response = client.post("/api/v1/checks", headers=auth, data=_png(*size), content_type="image/png")
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"].endswith("/unusual-shape") and f"{size[0]}×{size[1]}" in body["detail"]


def test_strips_are_refused_from_the_header_before_any_pixel_is_decoded(monkeypatch):
    strip, decoded = _png(4_000_000, 12), []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size))
    assert _problem(strip).status == 422
    assert decoded == []


@pytest.mark.parametrize("shape", [(1, 1000), (20000, 1), (2, 2000), (12, 4000), (1, 1), (3, 5000)])
def test_the_face_detector_takes_any_shape(shape):
    """The tile downscale rounded a 2 px side to 0 (ZeroDivisionError, 500) before the fix."""
    assert FaceDetector(num_threads=1).detect(np.zeros((*shape, 3), np.uint8)) == []


def test_an_image_just_inside_the_shape_limit_is_checked(client, auth):
    width = 100 * MAX_ASPECT_RATIO
    response = client.post("/api/v1/checks", headers=auth, data=_png(width, 100), content_type="image/png")
    assert response.status_code == 200 and response.get_json()["scope"] == "no_face"


def test_decoded_memory_is_budgeted_by_mode_before_decoding(monkeypatch):
    square, decoded = _png(7000, 7000, "RGBA"), []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size) or real_load(self))
    problem = _problem(square)  # 49 MP: under the pixel limit, 187 MB decoded
    assert problem.status == 413 and problem.slug == "image-too-large-to-decode"
    assert "7000×7000" in problem.detail and "RGBA" in problem.detail and "DFG_MAX_DECODED_MB" in problem.detail
    assert decoded == []
    monkeypatch.undo()
    # The same pixels as 1-byte grey need 47 MB: decoded, and reduced to the work size.
    grey = decode_image(_png(7000, 7000, "L"), MAX_PIXELS)
    assert max(grey.rgb.shape[:2]) < 2 * intake.WORK_LONG_SIDE and (grey.width, grey.height) == (7000, 7000)
    # The budget is a setting.
    assert _problem(_png(100, 100), max_decoded_bytes=10_000).status == 413


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16", "1", "LA"])
def test_large_images_of_every_mode_are_reduced_to_the_work_size(mode):
    """A large PNG is reduced right after its decode, as a large JPEG is by its draft decode."""
    photo = Image.fromarray(astronaut()).resize((4400, 4400))
    image = photo.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257)
    decoded = decode_image(encode(image, "PNG"), MAX_PIXELS)
    assert decoded.rgb.shape == (2200, 2200, 3) and decoded.scale == 0.5
    reference = np.asarray(photo.convert("L").resize((2200, 2200)), float)
    assert abs(decoded.rgb.mean() - reference.mean()) < 30  # the picture, not black or white


def test_face_detector_calls_are_budgeted(monkeypatch):
    """Tiles: at most MAX_TILES (bigger tiles beyond); refinements: at most MAX_CANDIDATES."""
    calls = []
    real_run = faces_module._Model.run
    monkeypatch.setattr(faces_module._Model, "run", lambda self, *a: calls.append(self.spec.input_size) or real_run(self, *a))
    detector = FaceDetector(num_threads=1)
    detector.detect(np.zeros((4095, 4095, 3), np.uint8))
    assert len(calls) <= 1 + faces_module.MAX_TILES
    assert len(faces_module._budgeted_tiles(20000, 20000)) <= faces_module.MAX_TILES
    # A crowd: the same face 16 times, with a budget of 4 refinements.
    monkeypatch.setattr(faces_module, "MAX_CANDIDATES", 4)
    face = np.asarray(Image.fromarray(astronaut()).resize((320, 320)))
    crowd = np.ascontiguousarray(np.tile(face, (4, 4, 1)))
    calls.clear()
    found = detector.detect(crowd)
    refinements = len(calls) - len(detector._views(1280, 1280))
    assert refinements == 4 and 1 <= len(found) <= 4


def test_a_png_with_a_bad_header_checksum_is_corrupt_not_unsupported(client, auth):
    data = bytearray(_png(40, 40))
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    response = client.post("/api/v1/checks", headers=auth, data=bytes(data), content_type="image/png")
    assert response.status_code == 422 and response.get_json()["type"].endswith("/corrupt-image")
    assert "PNG" in response.get_json()["detail"]


@pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")
def test_a_truncated_avif_is_corrupt_not_unsupported(client, auth):
    data = encode(astronaut(), "AVIF")
    for cut in (40, 200, len(data) // 2):
        response = client.post("/api/v1/checks", headers=auth, data=data[:cut], content_type="image/avif")
        assert response.status_code == 422, (cut, response.get_data(as_text=True))


def test_a_form_with_thousands_of_fields_says_so(client, auth):
    fields = {f"field{number}": "x" for number in range(5000)}
    fields["image"] = (io.BytesIO(jpeg(astronaut())), "a.jpg")
    response = client.post("/api/v1/checks", headers=auth, data=fields, content_type="multipart/form-data")
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"].endswith("/too-many-form-fields") and "10485760 bytes" not in body["detail"]
