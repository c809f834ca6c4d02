"""Tiny generated data sets for training tests: easy to learn, made in milliseconds, no downloads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_tiny_set(root: Path, count: int, size: int = 64, fake_count: int | None = None, seed: int = 0,
                   splits: dict[str, int] | None = None) -> Path:
    """Real: smooth colour gradients with mild noise. Fake: the same kind with a blocky (4× nearest) patch."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    other = splits or {"Validation": 8}
    for split, n_real, n_fake in (("Train", count, fake_count or count), *((k, v, v) for k, v in other.items())):
        for label, n in (("Real", n_real), ("Fake", n_fake)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(n):
                image = 40 + 160 * np.outer(ramp, ramp[::-1])[..., None] * rng.uniform(0.4, 1.0, 3)
                image = image + rng.normal(0, 6, image.shape)
                if label == "Fake":
                    side = size // 2
                    y, x = rng.integers(0, size - side, 2)
                    patch = image[y:y + side:4, x:x + side:4]
                    image[y:y + side, x:x + side] = np.repeat(np.repeat(patch, 4, 0), 4, 1)
                Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"{index:03d}.png")
    return root
