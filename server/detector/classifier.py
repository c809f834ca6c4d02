"""The fake/real classifier served through ONNX Runtime (no TensorFlow in the serving process)."""
from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from .landmark_head import HeadWeights, LandmarkHead, soft_or
from .orientation import canonical_orientation

RUNTIME_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
PROBE_TOLERANCE = 1e-4   # a served model must reproduce the probe scores recorded when it was built
PROBE_SEED = 20261126


def probe_batch(size: int) -> np.ndarray:
    """Two fixed images (a colour gradient and seeded noise) whose scores every model records at build time."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], ramp[::-1][None, :]), axis=-1)
    noise = np.random.default_rng(PROBE_SEED).integers(0, 256, (size, size, 3))
    return np.stack([gradient, noise]).astype(np.uint8)


def reencode_jpeg(crops: np.ndarray, quality: int) -> np.ndarray:
    """Each crop JPEG-encoded at `quality` (4:2:0) and decoded: the model's format-shortcut rule (models.data)."""
    out = np.empty_like(crops, dtype=np.uint8)
    for index, crop in enumerate(crops):
        buffer = io.BytesIO()
        Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality, subsampling=2)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[index] = np.asarray(decoded.convert("RGB"))
    return out


class ModelError(RuntimeError):
    """A model folder that cannot be served (missing or corrupt files, bad metadata)."""


@dataclass(frozen=True)
class ModelInfo:
    """What the server needs from a model's `metadata.json`."""

    version: str
    threshold: float
    uncertain_band: tuple[float, float]
    input_size: int
    metadata: dict = field(repr=False)
    reencode_quality: int | None = None   # JPEG quality every crop is re-encoded at (None: as decoded)
    canonical_orientation: bool = False   # every crop is turned to its canonical orientation (orientation.py)

    @classmethod
    def read(cls, folder: Path) -> "ModelInfo":
        try:
            metadata = json.loads((folder / METADATA_FILE).read_text())
            low, high = (float(v) for v in metadata["uncertain_band"])
            rule = metadata.get("data_rule") or {}
            quality = rule.get("reencode_jpeg_quality")
            info = cls(version=str(metadata["version"]), threshold=float(metadata["threshold"]),
                       uncertain_band=(low, high), input_size=int(metadata["input_size"]),
                       metadata=metadata, reencode_quality=int(quality) if quality else None,
                       canonical_orientation=bool(rule.get("canonical_orientation")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{folder / METADATA_FILE}: unreadable model metadata ({error})") from error
        if not 0.0 <= low <= info.threshold <= high <= 1.0:
            raise ModelError(f"{folder / METADATA_FILE}: need 0 <= band low <= threshold <= band high <= 1")
        return info


class Runtime:
    """An ONNX model that maps N×S×S×3 raw RGB pixels to N fake probabilities."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{path}: cannot load the runtime model ({error})") from error
        self.path = Path(path)
        self._input = self._session.get_inputs()[0].name

    def predict(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        outputs = [self._session.run(None, {self._input: crops[i:i + batch_size].astype(np.float32, copy=False)})[0]
                   for i in range(0, len(crops), batch_size)]
        return np.concatenate(outputs).astype(np.float64).reshape(len(crops))


class Classifier:
    """P(fake) for batches of RGB crops, raw 0–255 pixels (scaling lives inside the model).

    A model folder with a landmark head (server/detector/landmark_head.py) adds its evidence to the
    ONNX model's by a soft OR.
    """

    def __init__(self, folder: Path, threads: int = 2) -> None:
        self.folder = Path(folder)
        self.info = ModelInfo.read(self.folder)
        self.runtime = Runtime(self.folder / RUNTIME_FILE, threads)
        try:
            weights = HeadWeights.load(self.folder)
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"{self.folder}: unreadable landmark head ({error})") from error
        self.head = LandmarkHead(weights, num_threads=1) if weights is not None else None
        # the head runs beside the CNN (LiteRT and ONNX Runtime both release the GIL): on a 2-core
        # machine that answers one check at a time, the head's time per face is hidden behind the CNN's
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="landmark-head") if self.head else None

    @property
    def version(self) -> str:
        return self.info.version

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Score crops.

        Args:
            crops: N×S×S×3 uint8 (or float) RGB, S = the model's input size.

        Returns:
            N fake probabilities in [0, 1].
        """
        size = self.info.input_size
        if crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
            raise ValueError(f"expected N×{size}×{size}×3 crops, got {crops.shape}")
        return self._scored(self.prepare(crops))

    def prepare(self, crops: np.ndarray) -> np.ndarray:
        """The crops as the model scores them: turned to their canonical orientation (before the re-encode,
        whose rounding is not mirror symmetric) and re-encoded, as the model's data rule says."""
        if self.info.canonical_orientation:
            crops = canonical_orientation(crops)
        if self.info.reencode_quality:
            crops = reencode_jpeg(crops, self.info.reencode_quality)
        return crops

    def score(self, crops: np.ndarray) -> np.ndarray:
        """Score crops that already went through the data rule's re-encode (evaluation loads them that way)."""
        return self._scored(canonical_orientation(crops) if self.info.canonical_orientation else crops)

    def _scored(self, crops: np.ndarray) -> np.ndarray:
        if self.head is None:
            return self.runtime.predict(crops)
        head_logits = self._beside.submit(self.head.logits, crops)
        return soft_or(self.runtime.predict(crops), head_logits.result())

    def self_test(self) -> None:
        """Score the probe images; raise ModelError unless the scores are sane and match the recorded ones.

        Catches a runtime file that loads but is not the model the metadata describes.
        """
        scores = self.runtime.predict(probe_batch(self.info.input_size))
        if scores.shape != (2,) or not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
            raise ModelError(f"{self.folder}: test prediction gave {scores!r}, not two probabilities")
        recorded = (self.info.metadata.get("probe") or {}).get("fake_probability")
        if recorded is not None and np.max(np.abs(scores - np.asarray(recorded, float))) > PROBE_TOLERANCE:
            raise ModelError(f"{self.folder}: test prediction {scores.round(6).tolist()} differs from the recorded "
                             f"{recorded} (metadata and runtime file do not belong together)")
