"""Served versus evaluated: does `evaluate` give each photo the score the server gives it?

For each Test photo of a data folder (default: faces-gan's 80 + 80), the score of its top face as the
server answers a check (core.check.Checker on the decoded bytes), beside the score `evaluate` gives the
same face (models.data.prepare's crop file, then models.evaluation.evaluate.score_split), and beside what evaluation did
before the served-model contract (re-encode at load time, then turn: the crops in the other order).
Prints, per path, how many scores equal the served one to the check answer's 6 decimals, the largest
difference and how many verdicts differ.

    python -m bench.scoring_paths --data ../shared/data/faces-gan [--model DIR]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    from core.check import Checker
    from core.faces import FaceDetector
    from core.intake import decode_image
    from core.orientation import canonical_orientation
    from core.registry import DEFAULT_MODEL_DIR
    from core.served_model import ServedModel, reencode_jpeg
    from models.data.pipeline import Split, load_images
    from models.data.prepare import Preparer
    from models.evaluation.evaluate import score_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder with Test/Real and Test/Fake photos")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args(argv)
    files = [(path, label) for label, name in enumerate(("Real", "Fake"))
             for path in sorted((args.data / "Test" / name).glob("*")) if path.is_file()]
    if not files:
        raise SystemExit(f"no photos in {args.data}/Test/Real or Fake")
    model = ServedModel.load(args.model)
    checker = Checker(model, FaceDetector())
    served, split = [], Split()
    with tempfile.TemporaryDirectory() as scratch:
        preparer = Preparer(scratch, model.info.input_size)
        for path, label in files:
            assessment = checker.check(decode_image(path.read_bytes(), 50_000_000))
            served.append(assessment.faces[0].fake_probability if assessment.faces else assessment.fake_probability)
            split.add_prepared(preparer.crop(path)[0], label, "", "")
        evaluated = score_split(model, split)
        crops = load_images(split.paths, model.info.input_size)
        rule = model.rule
        before = model.score_prepared(canonical_orientation(reencode_jpeg(crops, rule.reencode_quality))
                                      if rule.reencode_quality else canonical_orientation(crops))
    served = np.asarray(served)
    verdicts = [model.verdict(score) for score in served]
    print(f"{model.version} on {len(files)} photos of {args.data}/Test (the top face of each)")
    print(f"{'path':<44} {'equal to served':>16} {'max |diff|':>11} {'verdicts differ':>16}")
    for name, scores in (("evaluate now (score_split)", evaluated),
                         ("evaluate before (re-encode, then turn)", before)):
        rounded = np.asarray([round(float(score), 6) for score in scores])
        differ = sum(model.verdict(score) != verdict for score, verdict in zip(scores, verdicts))
        print(f"{name:<44} {int((rounded == served).sum()):>9} of {len(served):<4} "
              f"{np.abs(rounded - served).max():>11.6f} {differ:>9} of {len(served)}")


if __name__ == "__main__":
    main()
