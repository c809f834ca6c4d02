"""Lab script (issue 31): abstain when unstable — how often a served model's verdict flips between a face crop
and a re-encoded twin (JPEG q60; half size and back), and what saying "uncertain" on a flip does to false
alarms, catches, the uncertain share and the accuracy of the verdicts left. Figures in
docs/model-lab-notes.md ("Abstaining when a verdict flips"). Needs the train extra; nothing here is served.

    .venv/bin/python scripts/lab_abstain.py --model models/default --data ../shared/data/faces-gan \\
        --data ../shared/data/faces-swap --synthetic .cache/synthetic/seed20261126-T1500-V300 \\
        --holdout .cache/synthetic/seed20261127-T500
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from lab_combine_branches import test_sets  # scripts/, beside this file
from PIL import Image

from core.served_model import ServedModel, reencode_jpeg
from models.data.pipeline import load_images


def half_and_back(crops: np.ndarray) -> np.ndarray:
    out = np.empty_like(crops)
    for index, crop in enumerate(crops):
        image = Image.fromarray(crop)
        small = image.resize((image.width // 2, image.height // 2), Image.BILINEAR)
        out[index] = np.asarray(small.resize(image.size, Image.BILINEAR))
    return out


TWINS = {"jpeg q60": lambda crops: reencode_jpeg(crops, 60), "0.5x and back": half_and_back}


def figures(verdicts: np.ndarray, labels: np.ndarray) -> dict:
    decided = verdicts != "uncertain"
    correct = (verdicts == "fake") == (labels == 1)
    return {"false alarms": round(float((verdicts[labels == 0] == "fake").mean()), 3),
            "caught": round(float((verdicts[labels == 1] == "fake").mean()), 3),
            "uncertain": round(float((~decided).mean()), 3),
            "accuracy decided": round(float(correct[decided].mean()), 3) if decided.any() else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--synthetic", type=Path, required=True)
    parser.add_argument("--holdout", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache"))
    args = parser.parse_args()
    model = ServedModel(args.model)
    info = model.info
    for name, split in test_sets(info.input_size, args.data, args.synthetic, args.holdout, args.cache).items():
        if not name.startswith("test"):
            continue
        crops = load_images(split.paths, info.input_size)
        labels = np.asarray(split.labels, int)
        served = np.array([info.verdict(p) for p in model.fake_probabilities(crops)])
        row = {"set": name[5:], "n": len(labels), "served": figures(served, labels)}
        for twin, make in TWINS.items():
            again = np.array([info.verdict(p) for p in model.fake_probabilities(make(crops))])
            flipped = served != again
            row[twin] = {"flips": round(float(flipped.mean()), 3),
                         **figures(np.where(flipped, "uncertain", served), labels)}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
