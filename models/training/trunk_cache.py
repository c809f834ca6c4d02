"""The frozen trunk's output, computed once per face and view and kept as float16 arrays, so a fine-tune
trains the top blocks alone (models/training/faceres_keras.py).

A cache folder holds one set of examples:
    examples.csv      path, label (1 fake), source (data set), kind (real, gan, swap, self_blend), key (the
                      pair's real file: both members of a pair share a view's augmentation)
    view0.npy …       N×H×W×C float16 trunk maps; view 0 is the image as it is, views ≥ 1 are web views
                      (models/data/web_views.py); a self-blend's view k blends copy k
    usable.npy        N bool: False where no face (and so no self-blend) was found
A view is written to a .partial file and renamed when complete, so an interrupted build resumes at the view.
"""
from __future__ import annotations

import csv
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

SELF_BLEND = "self_blend"
EXAMPLES, USABLE = "examples.csv", "usable.npy"

# (real photo, copy) → the self-blended photo (H×W×3 uint8), or None without a face and landmarks
Blender = Callable[[str, int], "np.ndarray | None"]


@dataclass(frozen=True)
class Example:
    path: str          # the file (for a self-blend: the real photo it is made from)
    label: int         # 1 fake
    source: str        # the data set, e.g. faces-gan
    kind: str          # real, gan, swap or self_blend
    key: str           # the pair's real file (a real's own path): the pair shares each view's augmentation


def landmark_blender(cache_dir: Path, seed: int) -> Blender:
    """Self-blends as models/prepare.py makes them (BlazeFace, FaceMesh landmarks, models/selfblend.py)."""
    from models.data.prepare import Preparer

    preparer = Preparer(cache_dir, seed=seed)

    def blend(path: str, copy: int) -> np.ndarray | None:
        made = preparer.self_blended_photo(path, copy)
        return None if made is None else made.fake
    return blend


def served_crop_blender(preparer) -> Blender:
    """Self-blends cropped as the server crops faces (models.data.prepare.Preparer.self_blend), for examples
    made with `as_served`: a self-blend example keeps its real photo's path, and this returns the crop."""
    from models.data.pipeline import load_image

    def blend(path: str, copy: int) -> np.ndarray | None:
        made = preparer.self_blend(path, copy)
        return None if made is None else load_image(made[0], preparer.size)
    return blend


def view_pixels(example: Example, view: int, size: int, seed: int, blender: Blender | None) -> np.ndarray | None:
    """The size×size×3 uint8 pixels of one view of an example (None: a self-blend without a face)."""
    from PIL import Image

    from models.data.pipeline import load_image
    from models.data.web_views import view_rng, web_view

    if example.kind == SELF_BLEND:
        if blender is None:
            raise ValueError("self-blended examples need a blender")
        fake = blender(example.path, view)
        if fake is None:
            return None
        image = Image.fromarray(fake)
        rgb = np.asarray(image.resize((size, size), Image.BILINEAR) if image.size != (size, size) else image)
    else:
        rgb = load_image(example.path, size)
    return rgb if view == 0 else web_view(rgb, view_rng(seed, view, example.key))


def write_examples(folder: Path, examples: list[Example]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / EXAMPLES, "w", newline="") as handle:
        writer = csv.DictWriter(handle, [f.name for f in fields(Example)])
        writer.writeheader()
        writer.writerows(asdict(e) for e in examples)


def read_examples(folder: Path) -> list[Example]:
    with open(Path(folder) / EXAMPLES, newline="") as handle:
        return [Example(row["path"], int(row["label"]), row["source"], row["kind"], row["key"])
                for row in csv.DictReader(handle)]


def build(folder: Path, examples: list[Example], views: int, trunk, size: int, seed: int,
          blender: Blender | None = None, batch: int = 32, progress=print) -> None:
    """Compute (or finish computing) the cache of `examples` in `views` views through `trunk` (a Keras model)."""
    import tensorflow as tf
    from numpy.lib.format import open_memmap

    folder = Path(folder)
    if (folder / EXAMPLES).exists() and read_examples(folder) != examples:
        raise ValueError(f"{folder} caches other examples; delete it or choose another folder")
    write_examples(folder, examples)
    usable = np.load(folder / USABLE) if (folder / USABLE).exists() else np.ones(len(examples), bool)
    shape = tuple(trunk.output_shape[1:])
    run = tf.function(lambda pixels: trunk(pixels, training=False))

    def load(start: int, view: int) -> tuple[np.ndarray, np.ndarray]:
        chunk = examples[start:start + batch]
        made = [view_pixels(e, view, size, seed, blender) for e in chunk]
        ok = np.array([m is not None for m in made])
        return np.stack([m if m is not None else np.zeros((size, size, 3), np.uint8) for m in made]), ok

    with ThreadPoolExecutor(1) as pool:   # decode and augment the next batch while the trunk runs
        for view in range(views):
            target = folder / f"view{view}.npy"
            if target.exists():
                continue
            partial = folder / f"view{view}.partial.npy"
            maps = open_memmap(partial, "w+", np.float16, (len(examples), *shape))
            pending = pool.submit(load, 0, view)
            for start in range(0, len(examples), batch):
                pixels, ok = pending.result()
                if start + batch < len(examples):
                    pending = pool.submit(load, start + batch, view)
                maps[start:start + len(pixels)] = np.asarray(run(pixels.astype(np.float32))).astype(np.float16)
                usable[start:start + len(pixels)] &= ok
                if (start // batch) % 50 == 0:
                    progress(f"  {folder.name} view {view}: {start + len(pixels)} of {len(examples)}")
            maps.flush()
            del maps
            np.save(folder / USABLE, usable)
            partial.replace(target)
            progress(f"  {folder.name} view {view}: done ({int((~usable).sum())} without a face)")


@dataclass
class TrunkCache:
    """A built cache folder, memory-mapped."""

    examples: list[Example]
    maps: list[np.ndarray]     # per view: N×H×W×C float16 (memory-mapped)
    usable: np.ndarray

    @classmethod
    def open(cls, folder: Path) -> TrunkCache:
        folder = Path(folder)
        views = sorted(folder.glob("view[0-9]*.npy"), key=lambda p: int(p.stem[4:]))
        views = [p for p in views if not p.name.endswith(".partial.npy")]
        if not views:
            raise FileNotFoundError(f"{folder} holds no built view; build it first (models.trunk_cache.build)")
        return cls(read_examples(folder), [np.load(p, mmap_mode="r") for p in views], np.load(folder / USABLE))

    @property
    def labels(self) -> np.ndarray:
        return np.array([e.label for e in self.examples], np.int64)

    def batch(self, rows: np.ndarray, views: np.ndarray) -> np.ndarray:
        """float32 maps of `rows`, each in its own view."""
        return np.stack([self.maps[v][r] for r, v in zip(rows, views)]).astype(np.float32)
