"""What a faceres fine-tune trains on, and batches that keep pairs together and balance (source × label).

Examples (models/trunk_cache.Example) from data folders in the seed's layout:
  - a "GAN" folder (faces-gan): its reals and generated fakes;
  - a "swap" folder (faces-swap): `pairs.csv` (real,fake) per split, each fake with the frame it replaced;
  - a self-blend (models/selfblend.py) of every real of both, made per cached view.
A batch holds `cell` reals and `cell` fakes of each source: for the GAN source, cell/2 reals with their own
self-blends, cell/2 generated fakes and cell/2 more reals; for the swap source, cell/2 reals with their own
swapped frame and cell/2 other reals with their own self-blends. A pair shares its view.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models.data.pipeline import find_splits
from models.training.trunk_cache import SELF_BLEND, Example

PAIRS = "pairs.csv"


def gan_examples(root: Path, split: str, self_blends: bool) -> list[Example]:
    """A split's reals and generated fakes (and a self-blend of each real) of a GAN-face folder."""
    source, found = Path(root).name, find_splits(root)[split]
    examples = [Example(p, y, source, "gan" if y else "real", p) for p, y in zip(found.paths, found.labels)]
    if self_blends:
        examples += [Example(p, 1, source, SELF_BLEND, p) for p, y in zip(found.paths, found.labels) if y == 0]
    return examples


def read_pairs(root: Path, split: str) -> list[tuple[str, str]]:
    """(real file, fake file) of a split's pairs.csv (paths relative to the split folder)."""
    folder = Path(root) / split
    with open(folder / PAIRS, newline="") as handle:
        return [(str(folder / row["real"]), str(folder / row["fake"])) for row in csv.DictReader(handle)]


def swap_examples(root: Path, split: str, self_blends: bool, limit: int | None = None, seed: int = 1337) -> list[Example]:
    """A split's pairs (`limit` of them, a seeded choice) as examples: real, its fake (and its self-blend)."""
    source, pairs = Path(root).name, read_pairs(root, split)
    if limit is not None and limit < len(pairs):
        chosen = np.random.default_rng(seed).choice(len(pairs), limit, replace=False)
        pairs = [pairs[i] for i in sorted(chosen)]
    examples = []
    for real, fake in pairs:
        examples += [Example(real, 0, source, "real", real), Example(fake, 1, source, "swap", real)]
        if self_blends:
            examples.append(Example(real, 1, source, SELF_BLEND, real))
    return examples


def as_served(examples: list[Example], preparer) -> list[Example]:
    """The same examples on the server's face crops (models.data.prepare.Preparer, cached): each file becomes its
    served crop and each pair key its real's crop; a self-blend keeps its real photo (blended whole, then cropped:
    trunk_cache.served_crop_blender)."""
    crop = lambda path: preparer.crop(path)[0]   # noqa: E731
    return [replace(e, path=e.path if e.kind == SELF_BLEND else crop(e.path), key=crop(e.key)) for e in examples]


@dataclass
class Pools:
    """Rows of a cache grouped as a batch draws them (pairs as K×2 arrays: real row, fake row)."""

    gan_blend_pairs: np.ndarray
    gan_reals: np.ndarray
    gan_fakes: np.ndarray
    swap_pairs: np.ndarray
    swap_blend_pairs: np.ndarray

    @classmethod
    def of(cls, examples: list[Example], usable: np.ndarray, gan_source: str, swap_source: str) -> Pools:
        real_row = {(e.source, e.path): i for i, e in enumerate(examples) if e.kind == "real" and usable[i]}

        def pairs(source: str, kind: str) -> np.ndarray:
            rows = [(real_row[(source, e.key)], i) for i, e in enumerate(examples)
                    if e.source == source and e.kind == kind and usable[i] and (source, e.key) in real_row]
            return np.array(rows, np.int64).reshape(-1, 2)

        def singles(source: str, kind: str) -> np.ndarray:
            return np.array([i for i, e in enumerate(examples) if e.source == source and e.kind == kind and usable[i]],
                            np.int64)
        return cls(pairs(gan_source, SELF_BLEND), singles(gan_source, "real"), singles(gan_source, "gan"),
                   pairs(swap_source, "swap"), pairs(swap_source, SELF_BLEND))

    def sizes(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in vars(self).items()}


def _cycle(rows: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` entries of `rows` in shuffled passes (a pool smaller than an epoch's need is reused)."""
    if not len(rows):
        return rows[:0]
    passes = [rows[rng.permutation(len(rows))] for _ in range(-(-count // len(rows)))]
    return np.concatenate(passes)[:count]


def epoch_batches(pools: Pools, cell: int, views: int, seed: int, epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch's batches as (rows, views): as many batches as the generated fakes fill (cell/2 each).

    Seeded by (seed, epoch), so a resumed run draws the very batches the uninterrupted one would.
    """
    rng = np.random.default_rng([seed, epoch])
    half = cell // 2
    count = max(1, len(pools.gan_fakes) // half) if len(pools.gan_fakes) else max(1, len(pools.swap_pairs) // cell)
    draws = {"gan_blend_pairs": half, "gan_reals": half, "gan_fakes": half, "swap_pairs": half, "swap_blend_pairs": half}
    drawn = {name: _cycle(getattr(pools, name), count * per, rng) for name, per in draws.items()}
    batches = []
    for b in range(count):
        groups = []
        for name, per in draws.items():
            part = drawn[name][b * per:(b + 1) * per]
            groups += [row.reshape(-1) for row in part] if part.ndim == 2 else [np.array([row]) for row in part]
        group_views = rng.integers(0, views, len(groups))
        rows = np.concatenate(groups)
        batches.append((rows, np.repeat(group_views, [len(g) for g in groups])))
    return batches
