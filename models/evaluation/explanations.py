"""How faithful a heatmap is to the served score: the deletion test (core/explain.py makes the maps).

Hiding the cells a map ranks highest should lower the served fake logit more than hiding as many random
cells; bench/explain.py reports it over data sets, tests/behaviour/test_explanations.py asserts it.
"""
from __future__ import annotations

import numpy as np

from core.explain import GRID
from core.landmark_head import logit
from core.served_model import ServedModel

TOP_FRACTION = 0.25


def hidden(crop: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The crop with the given GRID×GRID cells filled with its mean colour."""
    size = crop.shape[0]
    out = crop.copy()
    mean = crop.reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    step = size / GRID
    for index in cells:
        row, column = divmod(int(index), GRID)
        out[round(row * step):round((row + 1) * step), round(column * step):round((column + 1) * step)] = mean
    return out


def deletion_falls(model: ServedModel, crop: np.ndarray, cells: np.ndarray,
                   rng: np.random.Generator) -> tuple[float, float]:
    """Fall of the served fake logit with the map's top quarter of cells hidden, and with as many random
    cells hidden (the deletion test; also tests/behaviour/test_explanations.py)."""
    count = round(TOP_FRACTION * GRID * GRID)
    top = np.argsort(-cells.reshape(-1), kind="stable")[:count]
    random = rng.choice(GRID * GRID, count, replace=False)
    scores = model.fake_probabilities(np.stack([crop, hidden(crop, top), hidden(crop, random)]))
    logits = logit(scores)
    return float(logits[0] - logits[1]), float(logits[0] - logits[2])
