"""468 face landmarks (MediaPipe FaceMesh, the vendored face_landmark.tflite) for a detected face.

Used to build self-blended fakes (models.data.selfblend) and, at serving time, by the landmark head
(core/landmark_head.py). Like core/faces.py it runs the model in LiteRT, so
no TensorFlow is needed.

MediaPipe's recipe (face_landmark_front_cpu.pbtxt): the detection box, made square and enlarged
by ROI_SCALE, rotated so that the eyes are level, is resampled to 192×192 with pixels in [0, 1];
the model returns 468 (x, y, z) points in that view plus a face-presence logit.
"""
from __future__ import annotations

import math
import threading

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from core.faces import MODEL_DIR, Face

MODEL_FILE = MODEL_DIR / "face_landmark.tflite"
INPUT_SIDE = 192
ROI_SCALE = 1.5          # MediaPipe's RectTransformationCalculator scale for face landmarks
MIN_PRESENCE = 0.5       # below this face-presence probability the points are not trusted


class FaceLandmarker:
    """Face → 468 landmark points in pixels of the image the face was detected in."""

    def __init__(self, num_threads: int = 2) -> None:
        self._interpreter = Interpreter(model_path=str(MODEL_FILE), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"]): d["index"] for d in self._interpreter.get_output_details()}
        self._points = outputs[(1, 1, 1, 1404)]
        self._presence = outputs[(1, 1, 1, 1)]
        self._lock = threading.Lock()

    @staticmethod
    def _roi(face: Face) -> tuple[float, float, float, float]:
        """(centre x, centre y, side, angle in radians) of the square view the model is given."""
        x, y, w, h = face.box
        (right_x, right_y), (left_x, left_y) = face.keypoints[0], face.keypoints[1]
        angle = math.atan2(left_y - right_y, left_x - right_x)   # 0 when the eyes are level
        return x + w / 2, y + h / 2, ROI_SCALE * max(w, h), angle

    def landmarks(self, rgb: np.ndarray, face: Face) -> np.ndarray | None:
        """468×2 float32 (x, y) pixel positions, or None when the model sees no face there.

        Args:
            rgb: the H×W×3 uint8 image `face` was detected in.
            face: a core.faces.Face (box and eye keypoints).
        """
        cx, cy, side, angle = self._roi(face)
        cos, sin = math.cos(angle), math.sin(angle)
        k = side / INPUT_SIDE
        # output pixel (u, v) → image (x, y): rotate the view by `angle` around the box centre
        a, b = k * cos, -k * sin
        d, e = k * sin, k * cos
        c = cx - a * INPUT_SIDE / 2 - b * INPUT_SIDE / 2
        f = cy - d * INPUT_SIDE / 2 - e * INPUT_SIDE / 2
        view = Image.fromarray(rgb).transform((INPUT_SIDE, INPUT_SIDE), Image.AFFINE, (a, b, c, d, e, f),
                                              resample=Image.BILINEAR)
        tensor = (np.asarray(view, np.float32) / 255.0)[None]
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            points = self._interpreter.get_tensor(self._points).reshape(468, 3)[:, :2].copy()
            logit = float(self._interpreter.get_tensor(self._presence).ravel()[0])
        if 1 / (1 + math.exp(-max(min(logit, 50.0), -50.0))) < MIN_PRESENCE:
            return None
        u, v = points[:, 0], points[:, 1]
        return np.stack([a * u + b * v + c, d * u + e * v + f], axis=1).astype(np.float32)
