"""TF.js graph models written by hand from small TensorFlow graphs (a fresh clone has no npm package files)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SHARD = "group1-shard1of1.bin"


def write_graph_model(graph, constants: dict[str, np.ndarray], folder: Path, float16: bool = False) -> Path:
    """A TF graph as a TF.js graph model (model.json + one weights shard), as the TF.js converter lays it out:
    constants' values go to the shard in weightsManifest order; float ones as float16 when `float16`."""
    from google.protobuf import json_format

    nodes, manifest, shard = [], [], b""
    for node in graph.as_graph_def().node:
        entry = json_format.MessageToDict(node)
        if node.op == "Const":   # TF.js keeps a constant's value in the weights shard, not in the graph
            entry["attr"]["value"]["tensor"].pop("tensorContent", None)
            entry["attr"]["value"]["tensor"].pop("floatVal", None)
            entry["attr"]["value"]["tensor"].pop("intVal", None)
            value = constants[node.name]
            spec = {"name": node.name, "shape": list(value.shape), "dtype": str(value.dtype)}
            if float16 and value.dtype == np.float32:
                spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
                value = value.astype(np.float16)
            manifest.append(spec)
            shard += value.tobytes()
        nodes.append(entry)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SHARD).write_bytes(shard)
    model = {"format": "graph-model", "generatedBy": "tests", "convertedBy": "tests",
             "modelTopology": {"node": nodes, "library": {}, "versions": {"producer": 1}},
             "weightsManifest": [{"paths": [SHARD], "weights": manifest}]}
    (folder / "model.json").write_text(json.dumps(model))
    return folder / "model.json"


# (kind, output channels, stride): a faceres-like MobileNet-v1 chain at 32², small enough for a test
TINY_CHAIN = (("conv1", 8, 2), ("dw_1", None, 1), ("pw_1", 16, 1), ("dw_2", None, 2), ("pw_2", 16, 1),
              ("dw_3", None, 1), ("pw_3", 24, 1))
TINY_SIZE = 32
TINY_CUT = "conv_pw_2"


def write_faceres_like(folder: Path, seed: int = 0) -> Path:
    """A TF.js graph named and shaped like faceres (folded batch norm, ReLU6 as Relu/Minimum/Maximum, SAME padding,
    a global Mean), its weights stored as float16. Returns model.json."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    constants: dict[str, np.ndarray] = {}
    graph = tf.Graph()

    def const(name: str, value: np.ndarray):
        constants[name] = value
        return tf.constant(value, name=name)

    def relu6(x, prefix: str):
        x = tf.raw_ops.Relu(features=x, name=f"{prefix}_relu/Relu")
        x = tf.raw_ops.Minimum(x=x, y=const(f"{prefix}_relu/Cast", np.float32(6.0)),
                               name=f"{prefix}_relu/clip_by_value/Minimum")
        return tf.raw_ops.Maximum(x=x, y=const(f"{prefix}_relu/Const_1", np.float32(0.0)), name=f"{prefix}_relu/clip_by_value")

    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, TINY_SIZE, TINY_SIZE, 3], name="input_1")
        channels = 3
        for kind, out, stride in TINY_CHAIN:
            name = kind if kind == "conv1" else f"conv_{kind}"
            strides = [1, stride, stride, 1]
            if kind.startswith("dw"):
                kernel = const(f"{name}/depthwise_kernel", (rng.normal(size=(3, 3, channels, 1)) * 0.3).astype(np.float32))
                x = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=kernel, strides=strides, padding="SAME",
                                                     name=f"{name}/depthwise")
                scale = const(f"{name}_bn/batchnorm_1/mul", rng.uniform(0.5, 1.5, channels).astype(np.float32))
                x = tf.raw_ops.Mul(x=x, y=scale, name=f"{name}_bn/batchnorm_1/mul_1")
            else:
                size = 3 if kind == "conv1" else 1
                spread = 0.02 if kind == "conv1" else 2.0 / np.sqrt(channels)   # conv1 reads pixels 0–255
                kernel = const(f"{name}/convolution/merged_input",
                               (rng.normal(size=(size, size, channels, out)) * spread).astype(np.float32))
                x = tf.raw_ops.Conv2D(input=x, filter=kernel, strides=strides, padding="SAME",
                                      name=f"{name}_bn/batchnorm_1/mul_1")
                channels = out
            bias = const(f"{name}_bn/batchnorm_1/sub", rng.normal(1.0, 1.5, channels).astype(np.float32))
            x = relu6(tf.raw_ops.Add(x=x, y=bias, name=f"{name}_bn/batchnorm_1/add_1"), name)
        axes = const("global_pooling/Mean/reduction_indices", np.array([1, 2], np.int32))
        tf.raw_ops.Mean(input=x, axis=axes, keep_dims=False, name="global_pooling/Mean")
    return write_graph_model(graph, constants, folder, float16=True)
