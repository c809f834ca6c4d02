"""The served-model contract: the one way a model scores face crops, for serving and for everything else.

A model folder (model.onnx, metadata.json, optionally landmark_head.npz) is loaded, checked (file
hashes, a probe prediction that must reproduce the scores recorded at build time) and used to score
crops in one fixed order:

    crops → DataRule.prepare (canonical orientation, then the JPEG re-encode) → ONNX network
          → soft OR with the landmark head (if the model has one) → P(fake) → verdict

Serving, `evaluate`, the threshold and band calibration, the landmark head's fit, the retraining gate
and the benchmarks all score through `Scorer.fake_probabilities` (tests/contract/test_one_scoring_path.py
checks each of them against the served scores, bit for bit); explanations (core/explain.py) score
edited copies of a crop through `Scorer.score_variants`. No other code composes preprocessing.
No TensorFlow here: ONNX Runtime, LiteRT and numpy only.
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from core.landmark_head import HeadWeights, LandmarkHead, soft_or
from core.orientation import canonical_orientation
from core.registry import RegistryError, verify_files

RUNTIME_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
PROBE_TOLERANCE = 1e-4   # a served model must reproduce the probe scores recorded when it was built
PROBE_SEED = 20261126
FEATURES_OUTPUT = "features"   # a backbone model's second output: what its head reads (models/training/detector.py)


def probe_batch(size: int) -> np.ndarray:
    """Two fixed images (a colour gradient and seeded noise) whose scores every model records at build time."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], ramp[::-1][None, :]), axis=-1)
    noise = np.random.default_rng(PROBE_SEED).integers(0, 256, (size, size, 3))
    return np.stack([gradient, noise]).astype(np.uint8)


def reencode_jpeg(crops: np.ndarray, quality: int) -> np.ndarray:
    """Each crop JPEG-encoded at `quality` (4:2:0) and decoded: the format-shortcut rule (DataRule; training
    data gets it in models.data.pipeline)."""
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
class DataRule:
    """What every crop goes through before the network sees it, in one fixed order (a model property).

    1. canonical orientation (core/orientation.py): mirrored where that puts its brighter side left,
       so a crop and its mirror image score the same; before the re-encode, whose rounding is not
       mirror symmetric;
    2. the format-shortcut rule: JPEG re-encode at the quality the model was trained with.
    """

    input_size: int
    reencode_quality: int | None = None
    canonical_orientation: bool = False

    @classmethod
    def from_metadata(cls, metadata: dict) -> DataRule:
        rule = metadata.get("data_rule") or {}
        quality = rule.get("reencode_jpeg_quality")
        return cls(int(metadata["input_size"]), int(quality) if quality else None,
                   bool(rule.get("canonical_orientation")))

    def prepare(self, crops: np.ndarray) -> np.ndarray:
        """N×S×S×3 RGB crops (uint8, or integer-valued floats) → the uint8 pixels the network scores."""
        crops = np.asarray(crops)
        size = self.input_size
        if crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
            raise ValueError(f"expected N×{size}×{size}×3 crops, got {crops.shape}")
        crops = np.clip(crops, 0, 255).astype(np.uint8, copy=False)
        return self.finish(self.orient(crops))

    def orient(self, crops: np.ndarray) -> np.ndarray:
        """Step 1 alone (uint8 crops); only prepare and Scorer.score_variants compose the steps."""
        return canonical_orientation(crops) if self.canonical_orientation else crops

    def finish(self, crops: np.ndarray) -> np.ndarray:
        """Step 2 alone (uint8 crops)."""
        return reencode_jpeg(crops, self.reencode_quality) if self.reencode_quality else crops


@dataclass(frozen=True)
class ModelInfo:
    """What serving needs from a model's `metadata.json`."""

    version: str
    threshold: float
    uncertain_band: tuple[float, float]
    rule: DataRule
    metadata: dict = field(repr=False)

    @property
    def input_size(self) -> int:
        return self.rule.input_size

    @classmethod
    def read(cls, folder: Path) -> ModelInfo:
        path = Path(folder) / METADATA_FILE
        try:
            text = path.read_text()
        except OSError as error:
            raise ModelError(f"{path}: cannot read the model metadata ({error.strerror or error})") from error
        try:
            metadata = json.loads(text)
            low, high = (float(v) for v in metadata["uncertain_band"])
            info = cls(version=str(metadata["version"]), threshold=float(metadata["threshold"]),
                       uncertain_band=(low, high), rule=DataRule.from_metadata(metadata), metadata=metadata)
        except json.JSONDecodeError as error:
            raise ModelError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") \
                from error
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{path}: unreadable model metadata ({type(error).__name__}: {error})") from error
        if not 0.0 <= low <= info.threshold <= high <= 1.0:
            raise ModelError(f"{path}: need 0 <= band low <= threshold <= band high <= 1")
        return info

    def verdict(self, fake_probability: float) -> str:
        """'uncertain' inside the model's band, else 'fake' at or above the threshold, else 'real'."""
        low, high = self.uncertain_band
        if low < high and low <= fake_probability < high:
            return "uncertain"
        return "fake" if fake_probability >= self.threshold else "real"


class Runtime:
    """An ONNX network that maps N×S×S×3 raw RGB pixels to N fake probabilities (no data rule: see Scorer)."""

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
        self._outputs = [output.name for output in self._session.get_outputs()]

    def predict(self, pixels: np.ndarray, batch_size: int = 1) -> np.ndarray:
        """The network's first output, P(fake), per crop."""
        return self._run(self._outputs[0], pixels, batch_size).astype(np.float64).reshape(len(pixels))

    def features(self, pixels: np.ndarray) -> np.ndarray:
        """N×F: the `features` output of a network built on a backbone (models/training/detector.py), the head's input."""
        if FEATURES_OUTPUT not in self._outputs:
            raise ModelError(f"{self.path}: the network has no {FEATURES_OUTPUT!r} output (not a backbone model)")
        return self._run(FEATURES_OUTPUT, pixels, 1)

    def _run(self, output: str, pixels: np.ndarray, batch_size: int) -> np.ndarray:
        # One crop per run, as the server scores them (core/check.py): a batch rounds differently (scores
        # 1e-6 apart, measured), and every figure must be the served path's, bit for bit.
        return np.concatenate([self._session.run([output], {self._input: pixels[i:i + batch_size].astype(
            np.float32, copy=False)})[0] for i in range(0, len(pixels), batch_size)])


class Scorer:
    """P(fake) for face crops: the data rule, the network, and the landmark head's soft OR.

    Built from a loaded folder (ServedModel) or, while a model folder is being written, from its parts.
    """

    def __init__(self, runtime: Runtime, rule: DataRule, head: LandmarkHead | None = None) -> None:
        self.runtime, self.rule, self.head = runtime, rule, head
        # the head runs beside the network (LiteRT and ONNX Runtime both release the GIL): on a 2-core
        # machine that answers one check at a time, the head's time per face is hidden behind the network's
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="landmark-head") if head else None

    def prepare(self, crops: np.ndarray) -> np.ndarray:
        """The crops as the network sees them (DataRule.prepare)."""
        return self.rule.prepare(crops)

    def score_prepared(self, prepared: np.ndarray) -> np.ndarray:
        """Scores of crops that came out of `prepare` (the network, then the head)."""
        if self.head is None:
            return self.runtime.predict(prepared)
        head_logits = self._beside.submit(self.head.logits, prepared)
        return soft_or(self.runtime.predict(prepared), head_logits.result())

    def fake_probabilities(self, crops: np.ndarray) -> np.ndarray:
        """Score crops.

        Args:
            crops: N×S×S×3 RGB crops as cut from the image (uint8), S = the model's input size.

        Returns:
            N fake probabilities in [0, 1].
        """
        return self.score_prepared(self.prepare(crops))

    def score_variants(self, crop: np.ndarray, make: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, bool]:
        """Scores of variants of one crop, as served: `make` gets the crop turned to its served orientation
        and returns N variants of it (the first usually the crop itself), which get the rest of the data
        rule (the re-encode), the network and the head. How an explanation asks what parts matter.

        Returns:
            (N scores, whether the orientation mirrored the crop: `make`'s coordinates are mirrored then)
        """
        crop = np.clip(np.asarray(crop), 0, 255).astype(np.uint8)
        oriented = self.rule.orient(crop[None])[0]
        variants = np.asarray(make(oriented), np.uint8)
        return self.score_prepared(self.rule.finish(variants)), not np.array_equal(oriented, crop)

    def features(self, crops: np.ndarray) -> np.ndarray:
        """The backbone features of crops as served (a backbone model's head input; models/training/detector.py)."""
        return self.runtime.features(self.prepare(crops))


class ServedModel(Scorer):
    """A model folder, loaded and checked: what the server serves and what every figure is measured on."""

    def __init__(self, folder: Path, threads: int = 2) -> None:
        self.folder = Path(folder)
        self.info = ModelInfo.read(self.folder)
        try:
            weights = HeadWeights.load(self.folder)
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"{self.folder}: unreadable landmark head ({error})") from error
        super().__init__(Runtime(self.folder / RUNTIME_FILE, threads), self.info.rule,
                         LandmarkHead(weights, num_threads=1) if weights is not None else None)

    @classmethod
    def load(cls, folder: Path, threads: int = 2, check_hashes: bool = True) -> ServedModel:
        """Load a model folder and check it: its files' hashes (where metadata.json lists them) and the probe
        scores recorded when it was built."""
        model = cls(folder, threads)
        if check_hashes and model.info.metadata.get("files"):
            try:
                verify_files(model.folder, model.info.metadata)
            except RegistryError as error:
                raise ModelError(str(error)) from error
        model.self_test()
        return model

    @property
    def version(self) -> str:
        return self.info.version

    def verdict(self, fake_probability: float) -> str:
        return self.info.verdict(fake_probability)

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
