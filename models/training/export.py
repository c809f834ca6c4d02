"""Export a Keras model to the serving runtime (ONNX) and prove the two agree."""
from __future__ import annotations

from pathlib import Path

import numpy as np

OPSET = 17
PARITY_TOLERANCE = 1e-4


def export_onnx(model, path: str | Path) -> Path:
    """Write `model` as ONNX with one input `image` (N×S×S×3 float32, raw 0–255 pixels).

    tf2onnx's `from_keras` is used on purpose: converting a traced function instead turned
    normalisation statistics into extra graph inputs.
    """
    import tensorflow as tf
    import tf2onnx

    size = model.input_shape[1]
    signature = (tf.TensorSpec((None, size, size, 3), tf.float32, name="image"),)
    path = Path(path)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET, output_path=str(path))
    return path


def parity(model, onnx_path: str | Path, images: np.ndarray) -> float:
    """Largest absolute difference between Keras and ONNX Runtime outputs on `images`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    batch = images.astype(np.float32)
    runtime = session.run(None, {session.get_inputs()[0].name: batch})[0].reshape(-1)
    keras_out = np.asarray(model(batch, training=False)).reshape(-1)
    return float(np.max(np.abs(runtime - keras_out)))
