"""`python -m models.training.mirror_points --data DIR`: which FaceMesh landmark is which one's mirror image.

FaceMesh numbers its 468 points on the face, not on the image: in a mirror image of a face, point i
lands where the mirror of some other point j was (the left eye's corner where the right one's was).
The landmark head (core/landmark_head.py) needs that pairing to weigh both sides of a
face alike. It is measured, not looked up: FaceMesh runs on each face crop and on its mirror image;
the mean distance between point i of the mirror (mirrored back) and point j of the original, over
all faces, is the cost of pairing i with j; the cheapest one-to-one pairing of that cost made
symmetric is an involution (i ↔ j), with the points on the face's midline paired with themselves.
Written to server/detector/facemesh_mirror.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.landmark_head import MIRROR_FILE, POINTS, LandmarkFinder
from models.data.pipeline import IMAGE_SUFFIXES


def measure_pairing(crops: np.ndarray, finder: LandmarkFinder) -> tuple[np.ndarray, dict]:
    """(the pairing: POINTS indices, a summary) from face crops as the server makes them."""
    originals, mirrors = [], []
    for crop in crops:
        points = finder.points(crop)
        mirrored = finder.points(np.ascontiguousarray(crop[:, ::-1]))
        if points is not None and mirrored is not None:
            mirrored[:, 0] = crop.shape[1] - mirrored[:, 0]      # back into the original's coordinates
            originals.append(points)
            mirrors.append(mirrored)
    if len(originals) < 20:
        raise ValueError(f"landmarks found on {len(originals)} faces and their mirror images; need at least 20")
    originals, mirrors = np.asarray(originals), np.asarray(mirrors)
    cost = np.zeros((POINTS, POINTS))
    for points, mirrored in zip(originals, mirrors):
        cost += np.linalg.norm(mirrored[:, None, :] - points[None, :, :], axis=-1)
    cost /= len(originals)
    _, pairing = linear_sum_assignment(cost + cost.T)
    if not np.array_equal(pairing[pairing], np.arange(POINTS)):
        raise ValueError("the measured pairing is not an involution; measure on more faces")
    distance = cost[np.arange(POINTS), pairing]
    return pairing, {"faces": len(originals), "midline_points": int((pairing == np.arange(POINTS)).sum()),
                     "median_px": round(float(np.median(distance)), 2), "max_px": round(float(distance.max()), 2)}


def served_face_crops(files: list[Path], size: int = 256) -> np.ndarray:
    """The top face of each photo, cropped as the server crops it (photos without a face are left out)."""
    from PIL import Image

    from core.check import served_crops
    from core.faces import FaceDetector

    detector, crops = FaceDetector(), []
    for file in files:
        with Image.open(file) as image:
            photo = np.asarray(image.convert("RGB"))
        faces = detector.detect(photo)[:1]
        if faces:
            crops.append(served_crops(photo, faces, size)[0])
    return np.asarray(crops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of face photos (searched recursively)")
    parser.add_argument("--faces", type=int, default=400, help="how many photos to measure on")
    parser.add_argument("--out", type=Path, default=MIRROR_FILE)
    args = parser.parse_args()
    files = sorted(p for p in args.data.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    files = [files[i] for i in np.linspace(0, len(files) - 1, min(args.faces, len(files))).astype(int)]
    pairing, summary = measure_pairing(served_face_crops(files), LandmarkFinder(num_threads=2))
    args.out.write_text(json.dumps({"pairing": pairing.tolist(), "measured": summary}) + "\n")
    print(f"{args.out}: {summary}")


if __name__ == "__main__":
    main()
