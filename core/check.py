"""The whole check of one image: faces first, then the served model, then the verdict."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from core import explain
from core.crops import crop_face
from core.faces import FaceDetector
from core.intake import DecodedImage
from core.served_model import ServedModel

# Crops are scored this many at a time. ONNX Runtime's memory arena keeps the peak it has seen, and
# a batch of 3 crops grew a worker by 80 MB for good, while on 1 thread it was no faster than 3
# single calls (20.6 vs 17.5 ms, small_cnn): one at a time bounds memory for up to DFG_MAX_FACES.
SCORE_BATCH = 1
NO_FACE_NOTE = ("No face was found, so the whole image was scored. The model was trained on face "
                "crops: treat this verdict as weak evidence.")


@dataclass(frozen=True)
class FaceScore:
    box: tuple[int, int, int, int]   # x, y, w, h in pixels of the upright original image
    fake_probability: float


@dataclass(frozen=True)
class FaceExplanation:
    box: tuple[int, int, int, int]       # as in FaceScore; the whole image for a check without a face
    fake_probability: float
    heatmap: explain.Heatmap
    region: tuple[int, int, int, int]    # what the heatmap covers (x, y, w, h) in the upright original
    crop: np.ndarray = field(compare=False, repr=False)   # what the model scored (S×S×3)


@dataclass(frozen=True)
class Assessment:
    verdict: str                      # "fake" | "real" | "uncertain"
    fake_probability: float
    faces: list[FaceScore]
    scope: str                        # "faces" | "no_face"
    model_version: str
    # seconds per stage ("faces", "crops", "model"), for metrics; not part of the result
    stage_seconds: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def faces_json(self) -> list[dict]:
        """The faces as a check stores and returns them: box and score each."""
        return [{"box": list(face.box), "fake_probability": face.fake_probability} for face in self.faces]


def whole_image(rgb: np.ndarray, size: int) -> np.ndarray:
    """The whole image squeezed to size×size, for images without a face."""
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR, reducing_gap=2.0))


def served_crops(rgb: np.ndarray, found: list, size: int) -> np.ndarray:
    """What the classifier is shown for an image: one crop per found face, else the whole image.

    The one place that decides it, for serving and for building training data (models.data.prepare).
    """
    if found:
        return np.stack([crop_face(rgb, face.box, size=size) for face in found])
    return whole_image(rgb, size)[None]


class Checker:
    """Finds faces, scores each face's crop with the served model, and turns the highest score into a verdict."""

    def __init__(self, model: ServedModel, faces: FaceDetector, max_faces: int = 8) -> None:
        self.model = model
        self.faces = faces
        self.max_faces = max_faces

    def check(self, image: DecodedImage) -> Assessment:
        size = self.model.info.input_size
        started = time.perf_counter()
        found = self.faces.detect(image.rgb)[: self.max_faces]
        detected = time.perf_counter()
        crops = served_crops(image.rgb, found, size)
        cropped = time.perf_counter()
        scores = np.concatenate([self.model.fake_probabilities(crops[i:i + SCORE_BATCH])
                                 for i in range(0, len(crops), SCORE_BATCH)])
        stage_seconds = {"faces": detected - started, "crops": cropped - detected,
                         "model": time.perf_counter() - cropped}
        fake_probability = float(scores.max())
        faces = [FaceScore(box=_to_original(face.box, image.scale, image.width, image.height),
                           fake_probability=round(float(score), 6))
                 for face, score in zip(found, scores)]
        return Assessment(verdict=self.model.verdict(fake_probability),
                          fake_probability=round(fake_probability, 6), faces=faces,
                          scope="faces" if found else "no_face", model_version=self.model.version,
                          stage_seconds=stage_seconds)

    def explain(self, image: DecodedImage, faces: Sequence[int] | None = None) -> tuple[str, list[FaceExplanation]]:
        """Where the served model looked, per face (core/explain.py): (scope, explanations).

        The faces are found and cut exactly as `check` does; `faces` limits it to some of them (their
        indices in the check's faces; those past the last are left out). A check without a face
        explains the whole image.
        """
        size = self.model.info.input_size
        found = self.faces.detect(image.rgb)[: self.max_faces]
        crops = served_crops(image.rgb, found, size)
        if found:
            boxes = [_to_original(f.box, image.scale, image.width, image.height) for f in found]
            regions = [explain.crop_region(f.box, (image.rgb.shape[1], image.rgb.shape[0]), image.scale, size)
                       for f in found]
        else:
            boxes = regions = [(0, 0, image.width, image.height)]
        chosen = [i for i in (range(len(crops)) if faces is None else faces) if 0 <= i < len(crops)]
        explained = []
        for index in chosen:
            heatmap = explain.occlusion_map(self.model, crops[index])
            explained.append(FaceExplanation(boxes[index], round(heatmap.base, 6), heatmap, regions[index],
                                             crops[index]))
        return ("faces" if found else "no_face"), explained


def _to_original(box: tuple[int, int, int, int], scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    if scale == 1.0:
        return tuple(int(v) for v in box)
    x, y, w, h = (v / scale for v in box)
    x, y = max(0, round(x)), max(0, round(y))
    return x, y, min(round(w), width - x), min(round(h), height - y)
