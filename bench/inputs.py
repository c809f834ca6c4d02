"""Benchmark inputs made from photos that installed packages ship (no downloads, no shared data).

Kinds:
- `face256`: 256×256 JPEGs of one face (skimage's astronaut, matplotlib's Grace Hopper, mirrored).
- `photo1080`: 1920×1080 JPEGs with 1–3 faces pasted at 120–300 px into a stretched no-face photo.
- `noface`: package photos without a face, as shipped (400–640 px).
- `repeat`: one 256×256 face JPEG, byte for byte the same every time (the result cache's case).

Every request of the other kinds gets different bytes with the same pixels: a JPEG comment segment
with a counter is inserted after the start marker, so the sha256 differs (no cache hit) while
decoding and scoring do exactly the same work.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

KINDS = ("face256", "photo1080", "noface", "repeat")
ASTRONAUT_FACE = (176, 80, 96, 96)   # x, y, w, h, checked by eye (as bench/faces_bench.py)
GRACE_FACE = (170, 148, 195, 195)
QUALITY = 90


def _skimage_photo(name: str) -> Image.Image:
    import skimage

    return Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGB")


def _grace() -> Image.Image:
    from matplotlib import cbook

    return Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")


def _china() -> Image.Image:
    from sklearn.datasets import load_sample_image

    return Image.fromarray(load_sample_image("china.jpg"))


def jpeg(image: Image.Image, quality: int = QUALITY) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _aligned(photo: Image.Image, face: tuple[int, int, int, int]) -> Image.Image:
    """A 256² crop framed like an aligned face photo (face ~60% of the side, eyes above the centre)."""
    x, y, w, _ = face
    side = round(w * 1.65)
    left, top = x + w // 2 - side // 2, y + w // 2 - round(side * 0.58)
    return photo.crop((left, top, left + side, top + side)).resize((256, 256), Image.BILINEAR)


def _faces() -> list[tuple[Image.Image, tuple[int, int, int, int]]]:
    return [(_skimage_photo("astronaut.png"), ASTRONAUT_FACE), (_grace(), GRACE_FACE)]


def face_jpegs() -> list[bytes]:
    crops = [_aligned(photo, face) for photo, face in _faces()]
    return [jpeg(image) for crop in crops for image in (crop, crop.transpose(Image.FLIP_LEFT_RIGHT))]


def _paste(canvas: Image.Image, photo: Image.Image, face: tuple[int, int, int, int], face_px: int,
           at: tuple[float, float]) -> None:
    """Paste the region around `face` (2.4× its size, clipped to the photo) so the face is face_px wide."""
    x, y, w, h = face
    region = photo.crop((max(0, round(x - 0.7 * w)), max(0, round(y - 0.7 * h)),
                         min(photo.width, round(x + 1.7 * w)), min(photo.height, round(y + 1.7 * h))))
    k = face_px / w
    small = region.resize((round(region.width * k), round(region.height * k)), Image.BILINEAR, reducing_gap=2.0)
    canvas.paste(small, (round(at[0] * canvas.width), round(at[1] * canvas.height)))


def photo_jpegs() -> list[bytes]:
    """1920×1080 photos with one, two and three faces of different sizes."""
    faces = _faces()
    layouts = [
        [(0, 260, (0.55, 0.15))],
        [(1, 180, (0.08, 0.20)), (0, 140, (0.60, 0.35))],
        [(0, 120, (0.04, 0.10)), (1, 220, (0.30, 0.30)), (0, 300, (0.62, 0.12))],
    ]
    backgrounds = [_skimage_photo("rocket.jpg"), _china(), _skimage_photo("coffee.png")]
    out = []
    for layout, background in zip(layouts, backgrounds):
        canvas = background.resize((1920, 1080), Image.BILINEAR)
        for index, face_px, at in layout:
            photo, face = faces[index]
            _paste(canvas, photo, face, face_px, at)
        out.append(jpeg(canvas))
    return out


def noface_jpegs() -> list[bytes]:
    return [jpeg(photo) for photo in (_skimage_photo("coffee.png"), _skimage_photo("rocket.jpg"), _china())]


def with_comment(data: bytes, number: int) -> bytes:
    """The same JPEG with a COM segment carrying `number`: new bytes, identical pixels."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    payload = f"dfg-bench {number}".encode()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


@dataclass
class Inputs:
    """Base images per kind; `body(kind, n)` gives the bytes of the n-th request of a kind."""

    base: dict[str, list[bytes]]

    def body(self, kind: str, number: int) -> bytes:
        images = self.base[kind]
        data = images[number % len(images)]
        return data if kind == "repeat" else with_comment(data, number)

    def describe(self) -> dict[str, str]:
        def size(data: bytes) -> str:
            with Image.open(io.BytesIO(data)) as image:
                return f"{image.width}×{image.height}"
        return {kind: f"{len(images)} image(s), {', '.join(sorted({size(d) for d in images}))}, "
                      f"{np.mean([len(d) for d in images]) / 1024:.0f} KiB mean"
                for kind, images in self.base.items()}


def make_inputs() -> Inputs:
    faces = face_jpegs()
    return Inputs({"face256": faces, "photo1080": photo_jpegs(), "noface": noface_jpegs(), "repeat": faces[:1]})
