"""The fake/real classifier served through ONNX Runtime (no TensorFlow in the serving process)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

RUNTIME_FILE = "model.onnx"
METADATA_FILE = "metadata.json"


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

    @classmethod
    def read(cls, folder: Path) -> "ModelInfo":
        try:
            metadata = json.loads((folder / METADATA_FILE).read_text())
            low, high = (float(v) for v in metadata["uncertain_band"])
            info = cls(version=str(metadata["version"]), threshold=float(metadata["threshold"]),
                       uncertain_band=(low, high), input_size=int(metadata["input_size"]),
                       metadata=metadata)
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
        self._input = self._session.get_inputs()[0].name

    def predict(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        outputs = [self._session.run(None, {self._input: crops[i:i + batch_size].astype(np.float32, copy=False)})[0]
                   for i in range(0, len(crops), batch_size)]
        return np.concatenate(outputs).astype(np.float64).reshape(len(crops))


class Classifier:
    """P(fake) for batches of RGB crops, raw 0–255 pixels (scaling lives inside the model)."""

    def __init__(self, folder: Path, threads: int = 2) -> None:
        self.folder = Path(folder)
        self.info = ModelInfo.read(self.folder)
        self.runtime = Runtime(self.folder / RUNTIME_FILE, threads)

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
        return self.runtime.predict(crops)
