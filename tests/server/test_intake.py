"""Image intake: every format and pixel mode decodes correctly; bad input gets a clear 4xx problem."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, features

from core.intake import decode_image
from tests.images import astronaut, coffee, encode, jpeg, png_header_only

MAX_PIXELS = 50_000_000


def _photo(size=(160, 120)) -> Image.Image:
    return Image.fromarray(coffee()).resize(size)


FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "BMP"] + (["AVIF"] if features.check("avif") else [])


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_accepted_format_decodes(fmt):
    decoded = decode_image(encode(_photo(), fmt), MAX_PIXELS)
    assert decoded.format == fmt.lower()
    assert decoded.rgb.shape == (120, 160, 3) and decoded.rgb.dtype == np.uint8
    # Lossy or palette formats move pixels a little, never to another picture.
    assert np.abs(decoded.rgb.astype(int) - np.asarray(_photo()).astype(int)).mean() < 25


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (64, 48), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    rgb = decode_image(buffer.getvalue(), MAX_PIXELS).rgb
    assert rgb[..., 0].mean() > 200 and rgb[..., 2].mean() < 50


@pytest.mark.parametrize("mode, fmt", [("L", "PNG"), ("1", "PNG"), ("P", "PNG"), ("CMYK", "JPEG"),
                                       ("LA", "PNG"), ("RGBA", "PNG"), ("I;16", "PNG")])
def test_pixel_modes_become_rgb(mode, fmt):
    image = _photo().convert(mode) if mode != "I;16" else Image.fromarray(
        np.asarray(_photo().convert("L"), np.uint16) * 257)
    rgb = decode_image(encode(image, fmt), MAX_PIXELS).rgb
    assert rgb.shape == (120, 160, 3)
    grey_reference = np.asarray(_photo().convert("L"), float)
    # Converted correctly: brightness follows the original (16-bit scaled, not clipped to white).
    assert abs(rgb.mean() - grey_reference.mean()) < 30


def test_transparency_is_flattened_on_white():
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    rgb = decode_image(encode(image, "PNG"), MAX_PIXELS).rgb
    assert (rgb == 255).all()
    palette = Image.new("P", (40, 40), 0)
    palette.info["transparency"] = 0
    assert (decode_image(encode(palette, "PNG", transparency=0), MAX_PIXELS).rgb == 255).all()


def test_exif_orientation_is_applied():
    array = np.zeros((100, 200, 3), np.uint8)
    array[:, :100] = 255  # white left half
    decoded = decode_image(jpeg(array, exif_orientation=6), MAX_PIXELS)  # rotate 90° clockwise to display
    assert (decoded.width, decoded.height) == (100, 200)
    assert decoded.rgb.shape == (200, 100, 3)
    assert decoded.rgb[:100].mean() > 200 and decoded.rgb[100:].mean() < 50  # white on top now


def test_large_jpeg_is_reduced_but_reports_original_size():
    big = np.asarray(Image.fromarray(astronaut()).resize((4800, 4800)))
    decoded = decode_image(jpeg(big, quality=80), MAX_PIXELS)
    assert (decoded.width, decoded.height) == (4800, 4800)
    assert decoded.scale < 1 and max(decoded.rgb.shape[:2]) >= 2048


# --- over HTTP: status, problem+json, and the server keeps serving ---

BAD_INPUTS = [
    ("empty body", b"", "image/jpeg", 422),
    ("text", b"hello, I am not an image" * 10, "image/png", 415),
    ("svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml", 415),
    ("truncated jpeg", None, "image/jpeg", 422),
    ("corrupt png", None, "image/png", 422),
    ("huge dimensions in header", png_header_only(100_000, 100_000), "image/png", 413),
    ("just over the pixel limit", png_header_only(10_000, 5_001), "image/png", 413),
    ("wrong content type", b"hello", "text/plain", 415),
]


def _bad_bytes(name: str, data: bytes | None) -> bytes:
    if name == "truncated jpeg":
        return jpeg(astronaut())[:5000]
    if name == "corrupt png":
        good = bytearray(encode(_photo(), "PNG"))
        good[60:400] = b"\x00" * 340
        return bytes(good)
    return data


@pytest.mark.parametrize("name, data, content_type, status", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gets_its_status_and_a_problem(client, auth, name, data, content_type, status):
    response = client.post("/api/v1/checks", headers=auth, data=_bad_bytes(name, data), content_type=content_type)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert "Traceback" not in body["detail"] and len(body["detail"]) > 20
    # The server still answers a good request afterwards.
    assert client.post("/api/v1/checks", headers=auth, data=jpeg(coffee()), content_type="image/jpeg").status_code == 200


def test_pixel_limit_message_names_size_and_limit(client, auth):
    body = client.post("/api/v1/checks", headers=auth, data=png_header_only(40_000, 40_000),
                       content_type="image/png").get_json()
    assert "40000×40000" in body["detail"] and "50 MP" in body["detail"]


def test_body_over_upload_limit_is_413(tmp_path, auth):
    from server import create_app
    from tests.conftest import API_KEY

    client = create_app({"instance_dir": tmp_path, "api_keys": [API_KEY], "max_upload_bytes": 20_000}).test_client()
    data = jpeg(astronaut(), quality=95)
    assert len(data) > 20_000
    for kwargs in ({"data": data, "content_type": "image/jpeg"},
                   {"data": {"image": (io.BytesIO(data), "a.jpg")}, "content_type": "multipart/form-data"}):
        response = client.post("/api/v1/checks", headers=auth, **kwargs)
        assert response.status_code == 413
        assert response.mimetype == "application/problem+json"
        assert "20000 bytes" in response.get_json()["detail"]


def test_multipart_without_image_field_is_422(client, auth):
    response = client.post("/api/v1/checks", headers=auth, content_type="multipart/form-data",
                           data={"picture": (io.BytesIO(jpeg(coffee())), "c.jpg")})
    assert response.status_code == 422
    assert "'image'" in response.get_json()["detail"]
