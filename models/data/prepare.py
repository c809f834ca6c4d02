"""Training data as the server sees it, and self-blended fakes made from real photos.

Face crop: every file goes through the server's own path — core.intake.decode_image, the
FaceDetector, core.check.served_crops — and the crop of its top face (the whole
image when there is none) is what training, validation and evaluation see. So what the model
learns is what it is shown later.

Self-blend: each real photo gives `copies` fakes (models.data.selfblend) made on the full photo from
its top face's 468 landmarks; the fake then goes through the same face crop (detected again, as
the server would), and the blend weights, cropped alike, become its mask (where it was changed).

Crops are cached as PNG files under the cache folder, named by the source file's content hash,
so a second run with the same data reuses them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.check import served_crops
from core.faces import FaceDetector
from core.intake import decode_image
from models.data.pipeline import Split

# bump when crops or fakes change: old cache entries are then ignored (2: faces enlarged up to 2×)
PREP_VERSION = 2
MAX_PIXELS = 50_000_000          # the server's default DFG_MAX_PIXELS
SELF_BLENDED_TEST = "self_blended_test"
SELF_BLEND_KIND = "self_blend"   # the kind of fake (Split.kinds) of a self-blended one


@dataclass
class PrepStats:
    images: int = 0              # distinct source files
    without_face: int = 0        # of those, scored as a whole image, as the server does
    self_blended: int = 0
    self_blend_skipped: int = 0  # real photos without a face (or landmarks) to blend
    per_split: dict[str, dict[str, int]] = field(default_factory=dict)


def _save_png(pixels: np.ndarray, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    Image.fromarray(pixels).save(partial, "PNG", compress_level=1)
    partial.replace(path)   # a crash never leaves a half-written crop that a later run would reuse


def _crop_mask(mask: np.ndarray, face, size: int) -> np.ndarray:
    """A one-channel mask cut exactly like its image (the same served crop of the same top face, or none)."""
    rgb = np.repeat(mask[..., None], 3, axis=2)
    return served_crops(rgb, [face] if face is not None else [], size)[0][..., 0]


class Preparer:
    """Makes (and caches) served crops and self-blended fakes of image files."""

    def __init__(self, cache_dir: str | Path, size: int = 256, seed: int = 1337) -> None:
        self.root = Path(cache_dir) / f"prepared-v{PREP_VERSION}-{size}"
        self.root.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.seed = seed
        self.faces = FaceDetector(num_threads=2)
        self._landmarker = None
        self.stats = PrepStats()
        self._keys: dict[str, str] = {}     # file → content hash (files are read once to hash them)
        self._faceless: dict[str, bool] = {}  # content hash → no face found
        self._landmarks: dict[str, np.ndarray | None] = {}  # content hash → its top face's landmarks

    def _key(self, path: str | Path) -> str:
        name = str(path)
        if name not in self._keys:
            self._keys[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20]
        return self._keys[name]

    def _count(self, key: str, faceless: bool) -> None:
        if key not in self._faceless:
            self._faceless[key] = faceless
            self.stats.images += 1
            self.stats.without_face += faceless

    @property
    def landmarker(self):
        if self._landmarker is None:
            from core.landmarks import FaceLandmarker

            self._landmarker = FaceLandmarker(num_threads=2)
        return self._landmarker

    def _decode(self, path: str | Path) -> np.ndarray:
        return decode_image(Path(path).read_bytes(), MAX_PIXELS).rgb

    def _served(self, rgb: np.ndarray):
        """(crop, the top face or None): the crop the server's classifier gets for the top face."""
        found = self.faces.detect(rgb)[:1]
        return served_crops(rgb, found, self.size)[0], (found[0] if found else None)

    def crop(self, path: str | Path, mask_path: str = "") -> tuple[str, str]:
        """The served crop of a file (and of its mask, if any) → (crop file, mask file or "")."""
        key = self._key(path)
        out, out_mask = self.root / f"{key}.png", self.root / f"{key}-mask.png" if mask_path else None
        faceless = self.root / f"{key}.noface"   # marks a crop that is the whole image (no face found)
        if out.exists() and (out_mask is None or out_mask.exists()):
            self._count(key, faceless.exists())
            return str(out), str(out_mask or "")
        rgb = self._decode(path)
        crop, face = self._served(rgb)
        if face is None:
            faceless.touch()
        self._count(key, face is None)
        if out_mask is not None:
            with Image.open(mask_path) as image:
                mask = np.asarray(image.convert("L").resize((rgb.shape[1], rgb.shape[0]), Image.NEAREST))
            _save_png(_crop_mask(mask, face, self.size), out_mask)
        _save_png(crop, out)
        return str(out), str(out_mask or "")

    def self_blended_photo(self, path: str | Path, copy: int):
        """The whole self-blended photo (models.data.selfblend.SelfBlend) before the crop, or None without
        a face and its landmarks."""
        from models.data.selfblend import self_blend

        key = self._key(path)
        rgb = self._decode(path)
        if key not in self._landmarks:   # every copy blends the same face: find it once
            faces = self.faces.detect(rgb)
            self._landmarks[key] = self.landmarker.landmarks(rgb, faces[0]) if faces else None
        points = self._landmarks[key]
        if points is None:
            return None
        # seeded by the run's seed, the copy number and the photo's content: reproducible anywhere
        rng = np.random.default_rng([self.seed, copy, int(key[:12], 16)])
        return self_blend(rgb, points, rng)

    def self_blend(self, path: str | Path, copy: int) -> tuple[str, str] | None:
        """A self-blended fake of a real photo, cropped as served → (crop file, mask file), or None
        when the photo has no face whose landmarks can be found."""
        key = self._key(path)
        stem = self.root / f"{key}-sbi{self.seed}-{copy}"
        out, out_mask, missing = stem.with_suffix(".png"), Path(f"{stem}-mask.png"), Path(f"{stem}.none")
        if out.exists() and out_mask.exists():
            self.stats.self_blended += 1
            return str(out), str(out_mask)
        if missing.exists():
            self.stats.self_blend_skipped += 1
            return None
        blend = self.self_blended_photo(path, copy)
        if blend is None:
            missing.touch()
            self.stats.self_blend_skipped += 1
            return None
        crop, face = self._served(blend.fake)
        mask = _crop_mask(blend.changed.astype(np.uint8) * 255, face, self.size)
        _save_png(mask, out_mask)
        _save_png(crop, out)
        self.stats.self_blended += 1
        return str(out), str(out_mask)

    def split(self, split: Split, name: str, self_blend_copies: int = 0) -> Split:
        """The split's served crops, plus `self_blend_copies` self-blended fakes per real photo."""
        prepared = Split()
        blended = 0
        for path, label, mask, kind in zip(split.paths, split.labels, split.masks or [""] * len(split.paths),
                                           split.kind_list()):
            crop, crop_mask = self.crop(path, mask)
            prepared.add_prepared(crop, label, crop_mask, kind)
            if label == 0:
                for copy in range(self_blend_copies):
                    made = self.self_blend(path, copy)
                    if made:
                        prepared.add_prepared(made[0], 1, made[1], SELF_BLEND_KIND)
                        blended += 1
        self.stats.per_split[name] = {**prepared.balance(), "self_blended": blended}
        return prepared

    def self_blended_test(self, split: Split) -> Split:
        """A test set of the split's real photos (served crops) and one self-blended fake of each."""
        reals = Split(paths=[p for p, label in zip(split.paths, split.labels) if label == 0],
                      labels=[0] * (len(split.labels) - int(sum(split.labels))))
        reals.masks = [""] * len(reals.paths)
        return self.split(reals, SELF_BLENDED_TEST, self_blend_copies=1)
