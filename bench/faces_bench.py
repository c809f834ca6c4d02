"""Face detector figures: detect() median time at three image sizes, and (with --calibrate) the face-crop
calibration and detection recall on a folder of aligned 256x256 faces.

    python -m bench.faces_bench [--threads 2] [--repeat 50] [--calibrate ../shared/data/faces-gan]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from matplotlib import cbook
from PIL import Image
from skimage import data

from core.crops import FACE_CROP_RAISE, face_square
from core.faces import FaceDetector

ASTRONAUT_FACE = (176, 80, 96, 96)  # x, y, w, h, checked by eye
GRACE_FACE = (170, 148, 195, 195)
FACE_PX = 120  # face size pasted into the large canvases


def _pasted(canvas_size: tuple[int, int], photo: Image.Image, face: tuple[int, int, int, int]) -> np.ndarray:
    """A no-face photo stretched to canvas_size with photo pasted so its face is FACE_PX wide, off-centre."""
    canvas = Image.fromarray(data.rocket()).resize(canvas_size)
    k = FACE_PX / face[2]
    small = photo.resize((round(photo.width * k), round(photo.height * k)), Image.BILINEAR)
    canvas.paste(small, (canvas_size[0] * 2 // 3, canvas_size[1] // 4))
    return np.asarray(canvas)


def inputs() -> dict[str, np.ndarray]:
    astronaut = Image.fromarray(data.astronaut())
    grace = Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    x, y, w, _ = ASTRONAUT_FACE
    aligned = astronaut.crop((x - w // 3, y - w // 2, x + w + w // 3, y + w + w // 6)).resize((256, 256))
    return {"256x256": np.asarray(aligned), "1024x768": _pasted((1024, 768), astronaut, ASTRONAUT_FACE),
            "1920x1080": _pasted((1920, 1080), grace, GRACE_FACE)}


def timings(detector: FaceDetector, repeat: int) -> None:
    for name, rgb in inputs().items():
        for _ in range(5):
            faces = detector.detect(rgb)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            detector.detect(rgb)
            times.append(time.perf_counter() - start)
        print(f"{name:>10}: detect() median {np.median(times) * 1e3:6.1f} ms  "
              f"(p10 {np.percentile(times, 10) * 1e3:.1f}, p90 {np.percentile(times, 90) * 1e3:.1f}), "
              f"{len(faces)} face(s) {[f.box for f in faces]}")


def calibrate(detector: FaceDetector, folder: Path) -> None:
    """Recall on */{Real,Fake}/*.jpg and the crop numbers: image side / max(w, h), and how far the image
    centre lies above the box centre in units of max(w, h); then the crop-vs-image IoU they give."""
    for split in sorted(p.name for p in folder.iterdir() if p.is_dir()) + ["*"]:
        ratios, raises, squares, missed, total = [], [], [], 0, 0
        for path in sorted(folder.glob(f"{split}/*/*.jpg")):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            height, width = rgb.shape[:2]
            faces = detector.detect(rgb)
            total += 1
            if not faces:
                missed += 1
                continue
            x, y, w, h = faces[0].box
            extent = max(w, h)
            ratios.append(width / extent)
            raises.append((y + h / 2 - height / 2) / extent)
            squares.append((face_square(faces[0].box, (width, height)), width, height))
        ious = [_iou_with_image(*s) for s in squares]
        print(f"{split:>10}: found {total - missed}/{total}; side/max(w,h) median {np.median(ratios):.3f} "
              f"(p5 {np.percentile(ratios, 5):.3f}, p95 {np.percentile(ratios, 95):.3f}); "
              f"raise median {np.median(raises):.3f} (used {FACE_CROP_RAISE}); "
              f"crop/image IoU mean {np.mean(ious):.3f}")


def _iou_with_image(square: tuple[int, int, int, int], width: int, height: int) -> float:
    x, y, side, _ = square
    inter = max(0, min(x + side, width) - max(x, 0)) * max(0, min(y + side, height) - max(y, 0))
    return inter / (side * side + width * height - inter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--calibrate", type=Path, help="folder with */{Real,Fake}/*.jpg aligned faces")
    args = parser.parse_args()
    detector = FaceDetector(num_threads=args.threads, model=args.model)
    timings(detector, args.repeat)
    if args.calibrate:
        calibrate(detector, args.calibrate)


if __name__ == "__main__":
    main()
