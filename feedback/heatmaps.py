"""Where the model looked, for reviewers: each face's heatmap over its crop, as small pictures in the task.

Made when the sync creates a task, by the model version that made the check (core/explain.py through
core.check.Checker.explain, the server's own path), from the image the task shows. The faces' pictures
go side by side into one JPEG, stored in Label Studio's image store like the image (its pages refuse
data: URLs), and shown by an HTML snippet (`$heatmaps`, a HyperText tag) under the image. A model
version that is not on this machine any more gets a sentence instead.
"""
from __future__ import annotations

import html
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.check import Checker, FaceExplanation
from core.explain import LEGEND
from core.faces import FaceDetector
from core.intake import decode_image
from core.served_model import ModelError, ServedModel
from core.settings import Settings

log = logging.getLogger(__name__)

MAX_FACES = 4        # faces shown per task
PICTURE = 160        # pixels per side of each face's picture
GAP = 6


def heat_colours(values: np.ndarray) -> np.ndarray:
    """H×W values in 0–1 → H×W×4 RGBA, the overlay's colours (extension/content/overlay-view.js)."""
    v = np.clip(np.asarray(values, np.float64), 0, 1)
    rgba = np.stack([np.full_like(v, 255), 40 + 215 * v * v, 40 * (1 - v), np.where(v < 0.08, 0, 60 + 140 * v)],
                    axis=-1)
    return rgba.round().astype(np.uint8)


def strip(explained: list[FaceExplanation], size: int = PICTURE) -> bytes:
    """Each face's crop with its heatmap over it (smoothed from the cells), side by side, as one JPEG."""
    canvas = Image.new("RGB", (len(explained) * (size + GAP) - GAP, size), "white")
    for index, item in enumerate(explained):
        crop = Image.fromarray(item.crop).resize((size, size), Image.BILINEAR)
        cells = Image.fromarray(item.heatmap.values.astype(np.float32)).resize((size, size), Image.BILINEAR)
        heat = Image.fromarray(heat_colours(np.asarray(cells)))
        canvas.paste(Image.alpha_composite(crop.convert("RGBA"), heat).convert("RGB"), (index * (size + GAP), 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@dataclass(frozen=True)
class TaskHeatmap:
    """A task's heatmap picture (None when none could be made) and the words that go with it."""

    picture: bytes | None
    captions: str

    def html(self, url: str | None) -> str:
        """The `$heatmaps` snippet, with the picture stored in Label Studio at `url`."""
        parts = []
        if url:
            parts.append(f'<p style="font-size:12px;margin:2px 0">Where the model looked. {html.escape(LEGEND)}</p>'
                         f'<img src="{html.escape(url, quote=True)}" alt="{html.escape(self.captions, quote=True)}" '
                         'style="max-width:100%"/>')
        parts.append(f'<p style="font-size:12px;margin:2px 0">{html.escape(self.captions)}</p>')
        return "".join(parts)


def captions(scope: str, explained: list[FaceExplanation], total_faces: int) -> str:
    if scope != "faces":
        return f"Heatmap of the whole image (no face): fake score {explained[0].fake_probability:.2f}"
    named = " · ".join(f"face {i + 1}: fake score {item.fake_probability:.2f}" for i, item in enumerate(explained))
    more = total_faces - len(explained)
    return f"Heatmaps, left to right: {named}" + (f" ({more} more not shown)" if more > 0 else "")


class TaskHeatmaps:
    """Heatmap snippets for tasks, one checker per model version met (loaded on first use)."""

    def __init__(self, settings: Settings, folder_of: Callable[[str], Path | None]) -> None:
        self.settings, self.folder_of = settings, folder_of
        self._checkers: dict[str, Checker | None] = {}
        self._faces: FaceDetector | None = None

    def _checker(self, version: str) -> Checker | None:
        if version not in self._checkers:
            folder = self.folder_of(version)
            checker = None
            if folder is not None:
                try:
                    if self._faces is None:
                        self._faces = FaceDetector(num_threads=self.settings.runtime_threads,
                                                   min_score=self.settings.face_min_score)
                    checker = Checker(ServedModel.load(folder, threads=self.settings.runtime_threads), self._faces,
                                      max_faces=self.settings.max_faces)
                except ModelError as error:
                    log.warning("no heatmaps from model %s: %s", version, error)
            self._checkers[version] = checker
        return self._checkers[version]

    def make(self, data: bytes, model_version: str, face_count: int) -> TaskHeatmap:
        """The heatmaps of an image checked by `model_version` with `face_count` faces; a sentence
        instead when they cannot be made (a task is never held back for want of a heatmap)."""
        checker = self._checker(model_version)
        if checker is None:
            return TaskHeatmap(None, f"No heatmap: model {model_version} is not on this server any more.")
        try:
            image = decode_image(data, self.settings.max_pixels, self.settings.max_decoded_mb * 2**20)
            scope, explained = checker.explain(image, range(MAX_FACES))
        except Exception as error:  # a heatmap is an aid: its failure must not stop the review
            log.warning("no heatmap for a task: %s", error)
            return TaskHeatmap(None, f"No heatmap: {type(error).__name__} while making it.")
        return TaskHeatmap(strip(explained), captions(scope, explained, face_count))
