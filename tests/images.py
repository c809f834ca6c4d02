"""Test images made from photos that installed packages ship (no downloads, no shared data)."""
from __future__ import annotations

import io
import itertools
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins): one face, 512×512."""
    import skimage

    return np.asarray(Image.open(Path(skimage.__file__).parent / "data" / "astronaut.png").convert("RGB"))


def coffee() -> np.ndarray:
    """scikit-image's coffee cup: no face."""
    import skimage

    return np.asarray(Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB"))


def encode(array_or_image, fmt: str = "JPEG", **params) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg(array: np.ndarray, quality: int = 92, exif_orientation: int | None = None) -> bytes:
    image = Image.fromarray(array)
    params = {"quality": quality}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        params["exif"] = exif.tobytes()
    return encode(image, "JPEG", **params)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions but carries almost no data (a decompression-bomb header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def astronaut_face_crop() -> np.ndarray:
    """The astronaut's face as the server crops it (the finder looks where the crop rule puts the face)."""
    from core.check import served_crops
    from core.faces import FaceDetector

    photo = astronaut()
    return served_crops(photo, FaceDetector().detect(photo)[:1], 256)[0]


def endless_face_jpegs(worker: int):
    """Endless JPEGs of the astronaut, each a little different, so no check is answered from the result cache."""
    base = astronaut()
    for count in itertools.count():
        image = base.copy()
        image[:4, :4] = (worker * 37 + count) % 256
        yield jpeg(image)


def distinct_face_jpegs(count: int) -> list[bytes]:
    """`count` different JPEGs of a face (crops of the astronaut), each a distinct sha256."""
    photo = astronaut()
    images = []
    for index in range(count):
        top, left = 4 * (index % 8), 4 * (index // 8)
        images.append(jpeg(photo[top:top + 448, left:left + 448], quality=85 + index % 10))
    return images
