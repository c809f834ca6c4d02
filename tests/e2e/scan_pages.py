"""A generated page of 30 images for the page-scan tests, and what a scan of it must check.

Faces and pictures without a face (distinct bytes each), the same URL shown twice, the same bytes
under two URLs, a <picture> whose <source> wins over its <img src>, an image served only to the
site's own pages (hotlink protection), tiny icons, and a lazy-loaded group far below the fold.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from tests.e2e.sites import Site, needs_referer_from
from tests.images import astronaut, coffee, jpeg

# Chromium loads `loading=lazy` images within ~1250–2500 px of the viewport: this is well beyond.
BELOW_THE_FOLD_PX = 6000


def _faces(count: int, start: int = 0) -> list[bytes]:
    base = astronaut()
    variants = [base, np.ascontiguousarray(base[:, ::-1])]  # the photo and its mirror image
    return [jpeg(variants[(start + index) % 2], quality=60 + start + index) for index in range(count)]


def _no_faces(count: int, start: int = 0) -> list[bytes]:
    base = coffee()
    return [jpeg(base, quality=60 + start + index) for index in range(count)]


@dataclass
class ScanPage:
    """The page's images: path → bytes, and which <img> elements show which path."""

    site: Site
    files: dict[str, bytes] = field(default_factory=dict)
    shown: list[tuple[str, str]] = field(default_factory=list)  # (element id, path it shows)
    tiny: list[str] = field(default_factory=list)               # paths only shown below 128 px
    lazy: list[str] = field(default_factory=list)
    hotlink: str = "/private/member-face.jpg"
    picture_fallback: str = "/img/picture-fallback.jpg"

    def add(self, path: str, body: bytes, guard=None) -> str:
        self.files[path] = body
        self.site.add(path, body, "image/jpeg", guard=guard)
        return path

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path]).hexdigest()

    @property
    def eager_paths(self) -> set[str]:
        """Paths that a scan checks before the page is scrolled."""
        return {path for _, path in self.shown if path not in self.lazy and path not in self.tiny}

    @property
    def checked_paths(self) -> set[str]:
        return {path for _, path in self.shown if path not in self.tiny}


def build_scan_page(site: Site) -> tuple[str, ScanPage]:
    """Serve the 30-image page on `site`; returns its URL and what it holds."""
    page = ScanPage(site)
    html = ['<h1>Generated news page</h1><p>Thirty images: faces, no faces, icons, duplicates, a lazy group.</p>']

    def img(element_id: str, path: str, size: tuple[int, int] = (220, 220), extra: str = "") -> None:
        page.shown.append((element_id, path))
        html.append(f'<img id="{element_id}" src="{path}" width="{size[0]}" height="{size[1]}" {extra}>')

    faces, no_faces = _faces(8), _no_faces(4)
    for index in range(6):                                           # 6 faces
        img(f"face-{index}", page.add(f"/img/face-{index}.jpg", faces[index]))
    for index in range(4):                                           # 4 without a face
        img(f"plain-{index}", page.add(f"/img/plain-{index}.jpg", no_faces[index]), (260, 180))
    img("face-0-again", "/img/face-0.jpg", (160, 160))               # the same URL again, smaller
    img("plain-0-again", "/img/plain-0.jpg", (200, 140))
    img("copy-of-face-1", page.add("/mirror/face-1-copy.jpg", faces[1]))     # the same bytes, another URL
    img("copy-of-plain-1", page.add("/mirror/plain-1-copy.jpg", no_faces[1]), (260, 180))
    source = page.add("/img/picture-face.jpg", faces[6])
    page.add(page.picture_fallback, _no_faces(1, start=15)[0])
    page.shown.append(("picture-img", source))                       # <picture>: the <source> is shown
    html.append(f'<picture><source srcset="{source}" type="image/jpeg">'
                f'<img id="picture-img" src="{page.picture_fallback}" width="220" height="220"></picture>')
    img("hotlink", page.add(page.hotlink, faces[7], guard=needs_referer_from(site.origin)))
    for index, size in enumerate([(32, 32), (48, 48), (64, 64), (100, 100), (300, 100), (127, 400)]):
        path = page.add(f"/icons/icon-{index}.jpg", _faces(1, start=10 + index)[0])
        page.tiny.append(path)
        img(f"icon-{index}", path, size)                             # 6 icons under 128 px on the short side
    html.append(f'<div style="height: {BELOW_THE_FOLD_PX}px">Keep scrolling…</div>')
    lazy_faces, lazy_plain = _faces(4, start=20), _no_faces(4, start=20)
    for index in range(8):                                           # 8 lazy images below the fold
        body = (lazy_faces if index % 2 == 0 else lazy_plain)[index // 2]
        path = page.add(f"/lazy/photo-{index}.jpg", body)
        page.lazy.append(path)
        img(f"lazy-{index}", path, extra='loading="lazy"')
    html.append('<div id="end" style="height: 400px">The end.</div>')
    assert len(page.shown) == 30
    return site.add("/news", "\n".join(html)), page
