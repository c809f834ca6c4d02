"""Face detection with MediaPipe's BlazeFace models, run in LiteRT (no TensorFlow import).

Anchors and box decoding re-implement MediaPipe's SsdAnchorsCalculator and
TensorsToDetectionsCalculator for the two vendored models (core/blazeface/NOTICE.md).

Pipeline, chosen by measurement (figures from this 2-core machine, bench/faces_bench.py):
1. Candidates: the short-range model (128², finds faces from ~1/8 of its view up to the whole view)
   on the letterboxed image, plus the full-range model (192², faces from ~1/16 of its view): on the
   letterboxed image when the long side is SMALL_IMAGE..TILE_TRIGGER * TILE_SIDE, on overlapping
   TILE_SIDE tiles above that, so faces of 64 px in 1024x768 and 1920x1080 photos are found.
2. Refinement: every candidate is detected again by the short-range model in a square REFINE_CONTEXT
   times the face size (face ~40% of the view, where the model is most accurate). Every box thus has
   the same framing, whichever view found it (full-range boxes are ~7% larger and sit higher), which
   the crop calibration in crops.py relies on. A candidate that is not confirmed is dropped: on 18
   no-face package photos, as they are and stretched to 1920x1080, that cut false positives from 7
   to 4 (a cat's face, a galaxy, a headlight) with no loss of recall.
detect() takes 2.9 / 9.6 / 23.8 ms (median, 2 threads, idle machine) at 256², 1024x768, 1920x1080.
NMS is MediaPipe's weighted NMS: it halved box jitter under 2-16 px shifts and +-3% rescaling
(0.8% vs 1.4% of the box size on 21 faces) at no cost in recall.

Thread safety: each model's interpreter sits behind its own lock, so detect() may be called from
several threads at once; calls then take turns on the interpreter (each invoke uses num_threads).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

MODEL_DIR = Path(__file__).parent / "blazeface"
MODELS = ("auto", "short_range")  # short_range: candidates from the 128² letterbox only (fastest)
RAW_SCORE_LIMIT = 100.0  # MediaPipe clips logits to +-100 before the sigmoid
NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold for both models
NUM_KEYPOINTS = 6
# Up to this long side the short-range letterbox alone sees every face worth classifying (>= side/8).
SMALL_IMAGE = 320
# Tiles: with 768 px tiles a 64 px face is ~16 px at 192² (full range finds >= ~12 px); 1024 px tiles
# lost 4-5 of 18 faces of 64 px; 640 px tiles found faces of ~50 px but double the tiles of 1024x768.
TILE_SIDE = 768
TILE_TRIGGER = 1.25  # tile only images whose long side exceeds this many tiles
TILE_OVERLAP = 0.25  # faces up to 192 px lie whole in some tile; larger ones are in the letterbox
REFINE_CONTEXT = 2.5
REFINE_MIN_IOU = 0.3  # a refined box must overlap its candidate
# Budget of detector calls per image, whatever the image: intake reduces images to a long side under
# 4096 (49 tiles at most); beyond MAX_TILES the tiles grow instead. Only the best MAX_CANDIDATES
# candidates are refined (one call each): a picture of a crowd of hundreds cannot cost hundreds.
MAX_TILES = 64
MAX_CANDIDATES = 32


@dataclass(frozen=True)
class _Spec:
    file: str
    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float


# MediaPipe face_detection_{short,full}_range_common.pbtxt: anchor offsets 0.5, fixed anchor size.
SHORT_RANGE = _Spec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 1.0)
FULL_RANGE = _Spec("face_detection_full_range.tflite", 192, (4,), 0.0)


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the image given to detect()
    score: float  # detector confidence 0..1
    # BlazeFace's 6 keypoints in pixels: right eye, left eye, nose tip, mouth centre,
    # right ear tragion, left ear tragion (the subject's right and left).
    keypoints: tuple[tuple[float, float], ...]


def ssd_anchors(spec: _Spec) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], in the model's output order.

    Per grid cell MediaPipe emits one anchor per aspect ratio (only 1.0 here) plus one at an
    interpolated scale when interpolated_scale_aspect_ratio > 0, for each layer sharing the stride;
    with a fixed anchor size only the centres matter.
    """
    per_layer = 1 + (spec.interpolated_scale_aspect_ratio > 0)
    centres, layer = [], 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer + same < len(spec.strides) and spec.strides[layer + same] == stride:
            same += 1
        grid = spec.input_size // stride
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        cells = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(cells, per_layer * same, axis=1).reshape(-1, 2))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    # float64: exp(100) overflows float32
    clipped = np.clip(logits.astype(np.float64), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
    return 1.0 / (1.0 + np.exp(-clipped))


class _Model:
    """One BlazeFace interpreter; a lock serialises invoke() since an interpreter is not reentrant."""

    def __init__(self, spec: _Spec, num_threads: int) -> None:
        self.spec = spec
        self._interpreter = Interpreter(model_path=str(MODEL_DIR / spec.file), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {int(d["shape"][-1]): d["index"] for d in self._interpreter.get_output_details()}
        self._boxes_out, self._scores_out = outputs[4 + 2 * NUM_KEYPOINTS], outputs[1]
        self._anchors = ssd_anchors(spec)
        self._lock = threading.Lock()

    def run(self, tensor: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        """Detections scoring >= min_score in one input square: (K, 16) rows
        [xmin, ymin, xmax, ymax, 6 x (x, y)] in [0, 1] of the square, and (K,) scores."""
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor[None])
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._boxes_out)[0]
            logits = self._interpreter.get_tensor(self._scores_out)[0, :, 0]
        scores = _sigmoid(logits)
        keep = np.flatnonzero(scores >= min_score)
        # raw offsets are in input pixels, relative to the anchor centre
        raw, anchors = raw[keep] / self.spec.input_size, self._anchors[keep]
        centre, half = raw[:, 0:2] + anchors, raw[:, 2:4] / 2
        points = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
        points = points.reshape(len(keep), 2 * NUM_KEYPOINTS)
        boxes = np.concatenate([centre - half, centre + half, points], axis=1)
        return boxes, scores[keep]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one [x0, y0, x1, y1, ...] row with each row of boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum((box[2] - box[0]) * (box[3] - box[1]) + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray,
                 iou: float = NMS_IOU) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's weighted NMS: each cluster (IoU > iou with its best row) becomes one detection whose
    box and keypoints are the score-weighted mean of the cluster and whose score is the best one."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    alive = np.ones(len(scores), bool)
    out_boxes, out_scores = [], []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        cluster = alive & (_iou(boxes[i], boxes) > iou)
        cluster[i] = True
        alive &= ~cluster
        weights = scores[cluster][:, None]
        out_boxes.append((boxes[cluster] * weights).sum(0) / weights.sum())
        out_scores.append(scores[i])
    return np.array(out_boxes).reshape(-1, boxes.shape[1]), np.array(out_scores)


def _render(source: Image.Image, view: tuple[int, int, int], size: int,
            scale: tuple[float, float]) -> np.ndarray:
    """The square view (x0, y0, side), in pixels of the original image, as a size x size float tensor in
    [-1, 1]; source is the original resized by scale (sx, sy). Parts outside the image are 0 (mid
    grey): this is the letterbox that keeps the aspect ratio."""
    out = np.zeros((size, size, 3), np.float32)
    x0, y0, side = view
    (sx, sy), k = scale, size / side
    ix0, iy0 = max(0, x0), max(0, y0)
    ix1, iy1 = min(source.width / sx, x0 + side), min(source.height / sy, y0 + side)
    ox0, oy0, ox1, oy1 = (round((v - o) * k) for v, o in ((ix0, x0), (iy0, y0), (ix1, x0), (iy1, y0)))
    if ox1 > ox0 and oy1 > oy0:
        # reducing_gap: box-reduce, then bilinear; 3x faster than plain bilinear from 1920x1080 to 192
        part = source.resize((ox1 - ox0, oy1 - oy0), Image.BILINEAR,
                             box=(ix0 * sx, iy0 * sy, ix1 * sx, iy1 * sy), reducing_gap=2.0)
        out[oy0:oy1, ox0:ox1] = np.asarray(part, np.float32) * (2 / 255) - 1
    return out


def _tiles(width: int, height: int, tile: int, overlap: float) -> list[tuple[int, int, int]]:
    """Square tiles (x0, y0, side) covering the image, evenly spaced, overlapping by >= overlap * tile."""
    def starts(length: int) -> list[int]:
        if length <= tile:
            return [(length - tile) // 2]
        count = int(np.ceil((length - tile) / (tile * (1 - overlap)))) + 1
        return [round(v) for v in np.linspace(0, length - tile, count)]
    return [(x, y, tile) for y in starts(height) for x in starts(width)]


def _budgeted_tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """Tiles of TILE_SIDE, or larger ones where that would take more than MAX_TILES."""
    side = TILE_SIDE
    tiles = _tiles(width, height, side, TILE_OVERLAP)
    while len(tiles) > MAX_TILES:
        side = round(side * 1.25)
        tiles = _tiles(width, height, side, TILE_OVERLAP)
    return tiles


class FaceDetector:
    """BlazeFace face detector; interpreters are created once here and reused by every detect()."""

    def __init__(self, num_threads: int = 2, min_score: float = 0.5, model: str = "auto") -> None:
        if model not in MODELS:
            raise ValueError(f"model is {model!r}; choose one of {', '.join(MODELS)}")
        self.min_score = min_score
        self.model = model
        self._short = _Model(SHORT_RANGE, num_threads)
        self._full = _Model(FULL_RANGE, num_threads) if model == "auto" else None

    def _tiled(self, width: int, height: int) -> bool:
        return self._full is not None and max(width, height) > TILE_TRIGGER * TILE_SIDE

    def _views(self, width: int, height: int) -> list[tuple[_Model, tuple[int, int, int]]]:
        """(model, square) pairs to search; squares are (x0, y0, side) in image pixels."""
        side = max(width, height)
        letterbox = ((width - side) // 2, (height - side) // 2, side)
        views = [(self._short, letterbox)]
        if self._full is None or side <= SMALL_IMAGE:
            return views
        if not self._tiled(width, height):
            return views + [(self._full, letterbox)]
        # Tiles without a full-range letterbox: faces up to TILE_OVERLAP * TILE_SIDE lie whole in a tile,
        # faces over side / 8 are in the short-range letterbox, and faces of 180-260 px straddling
        # tile borders of 1920x1080 photos were found 80 of 80 times either way.
        return views + [(self._full, tile) for tile in _budgeted_tiles(width, height)]

    def _run(self, model: _Model, source: Image.Image, view: tuple[int, int, int],
             scale: tuple[float, float] = (1.0, 1.0)):
        """Detections of one view (see _render) in pixels of the original image."""
        x0, y0, side = view
        boxes, scores = model.run(_render(source, view, model.spec.input_size, scale), self.min_score)
        boxes = boxes * side
        boxes[:, 0::2] += x0
        boxes[:, 1::2] += y0
        return boxes, scores

    def _refine(self, image: Image.Image, box: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The short-range detection of this candidate with the face at ~40% of the view, or None."""
        size = max(box[2] - box[0], box[3] - box[1])
        side = max(round(REFINE_CONTEXT * size), 8)
        x0, y0 = round((box[0] + box[2] - side) / 2), round((box[1] + box[3] - side) / 2)
        boxes, scores = self._run(self._short, image, (x0, y0, side))
        if not len(scores):
            return None
        boxes, scores = weighted_nms(boxes, scores)
        overlap = _iou(box, boxes)
        best = int(np.argmax(overlap))
        return (boxes[best], float(scores[best])) if overlap[best] > REFINE_MIN_IOU else None

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an HxWx3 uint8 RGB image, highest score first."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB array, got shape {rgb.shape} dtype {rgb.dtype}")
        height, width = rgb.shape[:2]
        image = Image.fromarray(rgb)
        views = self._views(width, height)
        # tiles share one downscale, to the scale the full-range model sees them at; the letterbox
        # views are rendered from it too (a 4x smaller source makes their resize cheap)
        source, scale = image, (1.0, 1.0)
        if self._tiled(width, height):
            k = FULL_RANGE.input_size / TILE_SIDE
            # at least 1 px: a 2000×2 strip would round its short side to 0
            source = image.resize((max(1, round(width * k)), max(1, round(height * k))), Image.BILINEAR,
                                  reducing_gap=2.0)
            scale = (source.width / width, source.height / height)
        found = [self._run(model, source, view, scale) for model, view in views]
        candidates, _ = weighted_nms(np.concatenate([boxes for boxes, _ in found]),
                                     np.concatenate([scores for _, scores in found]))
        # weighted_nms orders by score: the best candidates are refined
        refined = [r for r in (self._refine(image, box) for box in candidates[:MAX_CANDIDATES]) if r is not None]
        if not refined:
            return []
        # two candidates of one face refine to (nearly) the same box
        boxes, scores = weighted_nms(np.array([b for b, _ in refined]), np.array([s for _, s in refined]))
        faces = [_face(box, score, width, height) for box, score in zip(boxes, scores)]
        return [face for face in faces if face.box[2] > 0 and face.box[3] > 0]  # not all in the padding


def _face(box: np.ndarray, score: float, width: int, height: int) -> Face:
    """A Face with its box clipped to the image (keypoints are left as predicted)."""
    x0, y0 = min(max(0, round(box[0])), width), min(max(0, round(box[1])), height)
    x1, y1 = min(max(x0, round(box[2])), width), min(max(y0, round(box[3])), height)
    return Face(box=(x0, y0, x1 - x0, y1 - y0), score=float(score),
                keypoints=tuple((float(x), float(y)) for x, y in box[4:].reshape(-1, 2)))
