"""Faces shown smaller inside a larger photo: the served model's ROC AUC per face size, with the crop
rule's enlargement (core/crops.py, up to MAX_ENLARGEMENT×) beside the earlier rule (never
enlarge: a small face got context around it instead), in one run on the same images.

Each photo of DIR/Test/{Real,Fake} (aligned face photos such as faces-gan) is resized to S px, pasted
at a seeded place into a blurred 800×600 package photo without a face and saved as JPEG q90; then its
face is detected, cropped and scored as the server does (the model's data rule, CNN and head).

    python -m bench.small_faces --data ../shared/data/faces-gan [--model DIR] [--sizes 256 200 160 120]
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

CANVAS = (800, 600)


def _canvas() -> Image.Image:
    from models.data.synthetic import sample_photos

    return Image.fromarray(dict(sample_photos())["coffee"]).resize(CANVAS).filter(ImageFilter.GaussianBlur(3))


def _pasted(background: Image.Image, path: Path, side: int, rng: np.random.Generator) -> np.ndarray:
    canvas = background.copy()
    with Image.open(path) as photo:
        face = photo.convert("RGB").resize((side, side), Image.BILINEAR)
    canvas.paste(face, (int(rng.integers(0, CANVAS[0] - side)), int(rng.integers(0, CANVAS[1] - side))))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return np.asarray(Image.open(buffer).convert("RGB"))


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import roc_auc_score

    import models
    from core.crops import MAX_ENLARGEMENT, crop_face
    from core.faces import FaceDetector
    from core.served_model import ServedModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder with Test/Real and Test/Fake face photos")
    parser.add_argument("--model", type=Path, default=models.DEFAULT_MODEL_DIR)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 200, 160, 120])
    args = parser.parse_args(argv)
    files = [(path, label) for label, name in enumerate(("Real", "Fake"))
             for path in sorted((args.data / "Test" / name).glob("*")) if path.is_file()]
    if not files:
        raise SystemExit(f"no photos in {args.data}/Test/Real or Fake")
    classifier, detector, background = ServedModel(args.model), FaceDetector(num_threads=2), _canvas()
    size = classifier.info.input_size
    rules = {f"enlarge ≤{MAX_ENLARGEMENT}× (served)": MAX_ENLARGEMENT, "never enlarge (before)": 1}
    print(f"{classifier.version} on {len(files)} photos of {args.data}/Test, pasted into a {CANVAS[0]}×{CANVAS[1]} "
          f"photo; ROC AUC (share of crops with landmarks)")
    print(f"{'face px':>8} {'no face':>8} " + " ".join(f"{name:>28}" for name in rules))
    for side in args.sizes:
        rng = np.random.default_rng(side)
        labels, scores, found = [], {name: [] for name in rules}, {name: [] for name in rules}
        missed = 0
        for path, label in files:
            rgb = _pasted(background, path, side, rng)
            faces = detector.detect(rgb)[:1]
            if not faces:
                missed += 1
                continue
            labels.append(label)
            for name, enlargement in rules.items():
                crop = crop_face(rgb, faces[0].box, size, max_enlargement=enlargement)[None]
                prepared = classifier.prepare(crop)   # as served: the scores below are fake_probabilities(crop)
                scores[name].append(float(classifier.score_prepared(prepared)[0]))
                if classifier.head is not None:
                    found[name].append(bool(np.isfinite(classifier.head.logits(prepared)[0])))
        cells = []
        for name in rules:
            auc = roc_auc_score(labels, scores[name]) if len(set(labels)) == 2 else float("nan")
            share = f" ({np.mean(found[name]):.2f})" if found[name] else ""
            cells.append(f"{auc:.3f}{share}")
        print(f"{side:>8} {missed:>8} " + " ".join(f"{cell:>28}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
