"""Draw the extension's icons (a shield with a magnifier) and write icons/icon-{16,32,48,128}.png.

Run from anywhere with Pillow installed: `python extension/tools/make_icons.py`. The PNGs are
committed; rerun this only to change the design. Each size is drawn at 8× and reduced, which
gives smooth edges without a vector renderer.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 32, 48, 128)
SUPERSAMPLE = 8
BACKGROUND = (21, 101, 192, 255)   # the overlay's accent blue
SHIELD = (255, 255, 255, 255)
LENS = (21, 101, 192, 255)
ICONS = Path(__file__).resolve().parent.parent / "icons"


def draw_icon(size: int) -> Image.Image:
    """One icon of `size`×`size` pixels."""
    big = size * SUPERSAMPLE
    unit = big / 128  # the design is laid out on a 128-pixel grid
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=28 * unit, fill=BACKGROUND)
    shield = [(64, 14), (104, 28), (104, 62), (98, 84), (84, 102), (64, 116), (44, 102), (30, 84), (24, 62), (24, 28)]
    draw.polygon([(x * unit, y * unit) for x, y in shield], fill=SHIELD)
    # The magnifier: a lens ring and a handle, in the background colour, on the shield.
    cx, cy, radius, ring = 58 * unit, 58 * unit, 20 * unit, 8 * unit
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=LENS, width=round(ring))
    draw.line((cx + 14 * unit, cy + 14 * unit, 88 * unit, 88 * unit), fill=LENS, width=round(11 * unit))
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    for size in SIZES:
        path = ICONS / f"icon-{size}.png"
        draw_icon(size).save(path, optimize=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
