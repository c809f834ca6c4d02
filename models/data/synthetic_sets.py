"""The synthetic data sets the commands and retraining use: generated once per seed and counts, then reused."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

# The synthetic demo data: counts per class; the holdout is generated with another seed.
SYNTHETIC_TRAIN_COUNT = 3000
SYNTHETIC_VALIDATION_COUNT = 300
SYNTHETIC_HOLDOUT_COUNTS = {"Test": 500}
SYNTHETIC_SEED = 20261126
SYNTHETIC_HOLDOUT_SEED = SYNTHETIC_SEED + 1
CACHE_DIR = Path(".cache") / "synthetic"


def synthetic_data(seed: int, counts: dict[str, int], cache_dir: Path = CACHE_DIR,
                   progress: Callable[[str], None] = print) -> Path:
    """Generate (or reuse) a synthetic data folder for `seed` and `counts`."""
    from models.data.synthetic import write_dataset

    folder = cache_dir / (f"seed{seed}-" + "-".join(f"{k[0]}{v}" for k, v in counts.items()))
    if not (folder / "summary.json").exists():  # written last by write_dataset: the folder is complete
        progress(f"generating synthetic data (seed {seed}) in {folder}")
        shutil.rmtree(folder, ignore_errors=True)
        write_dataset(folder, counts, seed=seed)
    return folder


def synthetic_holdout() -> Path:
    return synthetic_data(SYNTHETIC_HOLDOUT_SEED, SYNTHETIC_HOLDOUT_COUNTS, CACHE_DIR)
