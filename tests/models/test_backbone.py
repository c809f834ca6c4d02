"""The backbone conversion (models/training/backbone.py): a TF.js graph model becomes an ONNX feature extractor whose
features are the TF graph's own tap maps, pooled, within tolerance. The TF.js model is a tiny one the test
writes from a TensorFlow graph (a fresh clone has no package files)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.models.tfjs_files import write_graph_model

pytestmark = pytest.mark.slow
TAPS = ("tap_a:0", "tap_b:0")


def write_tfjs_model(folder, seed: int = 0):
    """Two 3×3 convolutions with ReLU6 taps, as a TF.js graph model (model.json + one weights shard).

    Returns:
        (model.json path, a function running the TF graph itself: pixels → [tap_a, tap_b] maps).
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    kernels = {"w1": (rng.normal(size=(3, 3, 3, 4)) * 0.05).astype(np.float32),
               "w2": (rng.normal(size=(3, 3, 4, 8)) * 0.2).astype(np.float32)}
    graph = tf.Graph()
    with graph.as_default():
        pixels = tf.compat.v1.placeholder(tf.float32, [None, 32, 32, 3], name="input_1")
        w1, w2 = (tf.constant(kernels[name], name=name) for name in ("w1", "w2"))
        tap_a = tf.nn.relu6(tf.nn.conv2d(pixels, w1, strides=1, padding="SAME", name="conv1"), name="tap_a")
        tf.nn.relu6(tf.nn.conv2d(tap_a, w2, strides=2, padding="SAME", name="conv2"), name="tap_b")
    model_json = write_graph_model(graph, kernels, folder)

    def run_tf(batch: np.ndarray) -> list[np.ndarray]:
        with tf.compat.v1.Session(graph=graph) as session:
            return session.run(list(TAPS), {"input_1:0": batch})
    return model_json, run_tf


def test_a_converted_tfjs_model_gives_the_tf_graphs_pooled_taps(tmp_path):
    from models.training.backbone import convert_tfjs, features

    model_json, run_tf = write_tfjs_model(tmp_path / "tfjs")
    onnx_file = convert_tfjs(model_json, TAPS, tmp_path / "backbone.onnx")
    batch = np.random.default_rng(3).integers(0, 256, (3, 32, 32, 3)).astype(np.float32)
    expected = np.concatenate([np.concatenate([tap.mean(axis=(1, 2)), tap.std(axis=(1, 2))], axis=1)
                               for tap in run_tf(batch)], axis=1)
    served = features(onnx_file, batch)
    assert served.shape == expected.shape == (3, 2 * (4 + 8))
    np.testing.assert_allclose(served, expected, atol=1e-4)
    assert np.ptp(served) > 0.1   # the taps vary: not trivially equal
