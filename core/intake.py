"""Image intake: bytes in, an upright RGB array out, or a problem that says what was wrong.

The format is recognised from the bytes (Pillow's sniffing), never from the declared content
type. Every image is held to a budget read from its header, before anything is decoded:
- pixels (DFG_MAX_PIXELS);
- shape: the long side at most MAX_ASPECT_RATIO times the short side (a 4,000,000×12 strip holds no
  face, yet cost 29 CPU-seconds of face detection);
- decoded memory (DFG_MAX_DECODED_MB): what Pillow needs to hold the decoded pixels in their mode
  (4 bytes a pixel for RGB, RGBA and the other multi-band modes, 2 for 16-bit grey, 1 for grey and
  palette). JPEGs are counted after their cheap reduced-scale decode (draft).
Images larger than the work size are reduced (box filter) right after decoding, before any other
copy, so the conversion to RGB and face detection work on at most ~4096 px; and only one image whose
decode needs more than LARGE_DECODE_BYTES is decoded at a time per process.
"""
from __future__ import annotations

import hashlib
import io
import threading
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from core.problems import Problem

# Formats we accept, as Pillow names its openers. Its JPEG opener also returns MPO images
# (many camera JPEGs), which we report as jpeg.
ACCEPTED_FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "BMP"] + (["AVIF"] if features.check("avif") else [])
FORMAT_NAMES = {"MPO": "jpeg"}
# Large JPEGs are decoded at a reduced scale (DCT scaling, a cheap power-of-two reduction) as
# long as the longer side stays at least this long: faces keep enough pixels for a 256² crop.
WORK_LONG_SIDE = 2048
MAX_ASPECT_RATIO = 20
DEFAULT_MAX_DECODED_BYTES = 144 * 1024 * 1024  # 37.7 MP of RGB(A), 50 MP of 16-bit grey
LARGE_DECODE_BYTES = 32 * 1024 * 1024
_large_decodes = threading.Lock()  # one large decode at a time per process: bounds a worker's peak
# Bytes a pixel takes in Pillow's storage, by mode (every other mode: 4, as RGB is stored padded).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# Modes Image.reduce() cannot take: these are reduced by nearest-neighbour resizing, with no copy.
_NOT_REDUCIBLE = {"1", "P", "I;16", "I;16L", "I;16B", "I;16N"}
# Signatures of the accepted formats: bytes that start like one but do not open are corrupt (422),
# not unsupported (415).
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP"}
EXIF_ORIENTATION = 0x0112
_BACKGROUND = (255, 255, 255)  # transparent pixels are shown on white, as browsers do
# Our own pixel limit (DFG_MAX_PIXELS) is checked as soon as the header is read, before any
# decoding, with a message that names the size; Pillow's global guard would fire first without it.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image and what we know about the original."""

    rgb: np.ndarray        # H×W×3 uint8, EXIF orientation applied, possibly reduced (see `scale`)
    width: int             # of the upright original
    height: int
    format: str            # "jpeg", "png", "webp", "gif", "bmp", "avif"
    sha256: str            # of the bytes as received
    scale: float           # rgb width / original width (1.0 unless a large JPEG was reduced)


def _unsupported(detail: str) -> Problem:
    return Problem(415, "unsupported-image", "Unsupported image", detail,
                   accepted_formats=[f.lower() for f in ACCEPTED_FORMATS])


def _corrupt(detail: str) -> Problem:
    return Problem(422, "corrupt-image", "Image could not be decoded", detail)


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text)


def _signature(data: bytes) -> str | None:
    """The accepted format the bytes claim to be by their signature, if any."""
    for magic, name in _SIGNATURES.items():
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "AVIF"
    return None


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise _corrupt("The request carried no image bytes. Send the image as the multipart field "
                       "'image' or as the raw body with an image/* content type.")
    if _looks_like_svg(data[:1024]):
        raise _unsupported("SVG is vector graphics, not a photo. Send a raster image (JPEG, PNG, WebP…).")
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        claimed = _signature(data)
        if claimed:
            raise _corrupt(f"The bytes start like a {claimed} file, but its header is damaged (a bad checksum or "
                           "a truncated file). Send the image again, or re-save it.")
        raise _unsupported("The bytes are not an image in a supported format "
                           f"({', '.join(f.lower() for f in ACCEPTED_FORMATS)}).")
    except Exception as error:  # decoders written in C raise all sorts (OSError, RuntimeError, struct.error…)
        raise _corrupt(f"The image header could not be read ({error}). The file may be truncated or corrupt.")
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _corrupt(f"The image claims to be {width}×{height} pixels, which is not a picture.")
    if width * height > max_pixels:
        raise _too_many_pixels(image.size, max_pixels)
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise Problem(422, "unusual-shape", "Image too elongated",
                      f"The image is {width}×{height} pixels: its long side is more than {MAX_ASPECT_RATIO} times "
                      "its short side, so it is a strip or a line, not a photo with a face to check. Send the "
                      "photo itself.", max_aspect_ratio=MAX_ASPECT_RATIO)
    return image


def decoded_bytes(image: Image.Image) -> int:
    """Memory the decode needs: the pixels in the mode Pillow decodes them to."""
    return image.size[0] * image.size[1] * _PIXEL_BYTES.get(image.mode, 4)


def _too_much_memory(image: Image.Image, need: int, limit: int) -> Problem:
    return Problem(413, "image-too-large-to-decode", "Image needs too much memory",
                   f"The image is {image.size[0]}×{image.size[1]} pixels of mode {image.mode}: decoding it needs "
                   f"{need / 2**20:.0f} MB, over the limit of {limit / 2**20:.0f} MB (DFG_MAX_DECODED_MB). "
                   "Send it as a JPEG, or smaller.", limit_bytes=limit)


def _reduce(image: Image.Image) -> Image.Image:
    """A decoded image larger than the work size, box-reduced by a whole factor to a long side of
    WORK_LONG_SIDE..2×WORK_LONG_SIDE (as large JPEGs are by their draft decode); else the image."""
    factor = max(image.size) // WORK_LONG_SIDE
    if factor < 2:
        return image
    if image.mode in _NOT_REDUCIBLE:
        size = (-(-image.size[0] // factor), -(-image.size[1] // factor))
        reduced = image.resize(size, Image.NEAREST)
    else:
        reduced = image.reduce(factor)
    reduced.info = image.info
    return reduced


def _too_many_pixels(size: tuple[int, int], max_pixels: int) -> Problem:
    return Problem(413, "too-many-pixels", "Image has too many pixels",
                   f"The image is {size[0]}×{size[1]} pixels; the limit is {max_pixels / 1e6:g} MP (DFG_MAX_PIXELS). "
                   "Send a smaller image.", limit_pixels=max_pixels)


def _reduce_jpeg(image: Image.Image) -> None:
    long_side = max(image.size)
    if image.format in ("JPEG", "MPO") and long_side > 2 * WORK_LONG_SIDE:
        factor = WORK_LONG_SIDE / long_side
        image.draft("RGB", (int(image.size[0] * factor) + 1, int(image.size[1] * factor) + 1))


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, scaling deep images and flattening alpha on white."""
    mode = image.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64)
        top = 1.0 if mode == "F" and values.max(initial=0) <= 1.0 else (255.0 if values.max(initial=0) <= 255 else 65535.0)
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if mode == "RGB" else image.convert("RGB")  # converting RGB would only copy it


def decode_image(data: bytes, max_pixels: int, max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES) -> DecodedImage:
    """Decode image bytes into an upright RGB array.

    Args:
        data: the bytes as received.
        max_pixels: refuse images with more pixels than this (checked before decoding).
        max_decoded_bytes: refuse images whose decode needs more memory than this (from the header).

    Returns:
        The decoded image. Raises `Problem` (413/415/422) for anything that is not a usable image.
    """
    image = _open(data, max_pixels)
    original_size = image.size
    image_format = FORMAT_NAMES.get(image.format, image.format.lower())
    try:
        image.seek(0)  # animated GIF/WebP: the first frame
        _reduce_jpeg(image)
    except Exception as error:
        raise _corrupt(f"The image data could not be read ({error}). The file may be truncated or corrupt.")
    need = decoded_bytes(image)
    if need > max_decoded_bytes:
        raise _too_much_memory(image, need, max_decoded_bytes)
    with _large_decodes if need > LARGE_DECODE_BYTES else nullcontext():
        try:
            image.load()
            image = _reduce(image)
        except Exception as error:  # as above: found by tests/fuzz (the AVIF decoder raises RuntimeError)
            raise _corrupt(f"The image data could not be decoded ({error}). The file may be truncated or corrupt.")
    reduced_width = image.size[0]
    try:
        # exif_transpose copies the image even when there is nothing to turn (6 MB at 1920×1080)
        turn = image.getexif().get(EXIF_ORIENTATION, 1) not in (None, 1)
        upright = ImageOps.exif_transpose(image) if turn else image
    except Exception:  # a malformed EXIF block must not cost the check: keep the stored orientation
        upright = image
    rotated = upright.size != image.size
    width, height = (original_size[1], original_size[0]) if rotated else original_size
    try:
        rgb = np.asarray(_to_rgb(upright), dtype=np.uint8)
    except Exception as error:  # a mode Pillow opens but cannot convert
        raise _corrupt(f"The image's pixel format could not be converted to RGB ({error}).")
    return DecodedImage(rgb=rgb, width=width, height=height, format=image_format,
                        sha256=hashlib.sha256(data).hexdigest(),
                        scale=reduced_width / original_size[0])
