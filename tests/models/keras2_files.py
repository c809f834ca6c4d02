"""Write a small model the way Keras 2 (tf.keras 2.x) saved the seed's: `to_json()` and HDF5 weights.

The seed's model is a Sequential whose first layer is a nested Functional backbone (EfficientNetV2B0
with its own preprocessing), then pooling, dropout and one sigmoid unit giving P(real). This writes a
miniature of that, byte-layout-compatible with Keras 2:
- JSON without `module` keys, BatchNormalization `axis` as a list, InputLayer `batch_input_shape`,
  DepthwiseConv2D with the `groups` argument Keras 3 dropped, legacy `inbound_nodes` lists;
- weights: root attributes `layer_names`, `backend`, `keras_version`; one group per layer with a
  `weight_names` attribute and datasets named `<layer>/<weight>:0`, each layer's trainable weights
  first, then its non-trainable ones (a nested model's are gathered across its layers in order).
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

SIZE = 32
FILTERS = 4
GLOROT = {"class_name": "GlorotUniform", "config": {"seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
ONES = {"class_name": "Ones", "config": {}}


def _layer(class_name: str, name: str, config: dict, inbound: list[str] | None) -> dict:
    node = {"class_name": class_name, "config": {"name": name, "trainable": True, "dtype": "float32", **config},
            "name": name}
    if inbound is not None:  # Sequential members have no inbound_nodes
        node["inbound_nodes"] = [[[source, 0, 0, {}] for source in inbound]] if inbound else []
    return node


def _input(name: str, functional: bool) -> dict:
    node = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, SIZE, SIZE, 3], "dtype": "float32",
                                                   "sparse": False, "ragged": False, "name": name}}
    if functional:
        node.update(name=name, inbound_nodes=[])
    return node


def backbone_config() -> dict:
    """A nested Functional like keras.applications' backbones (preprocessing inside)."""
    layers = [
        _input("input_2", True),
        _layer("Rescaling", "rescaling", {"scale": 1 / 127.5, "offset": -1.0}, ["input_2"]),
        _layer("Conv2D", "stem_conv", {"filters": FILTERS, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
                                       "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                                       "activation": "linear", "use_bias": False, "kernel_initializer": GLOROT,
                                       "bias_initializer": ZEROS, "kernel_regularizer": None, "bias_regularizer": None,
                                       "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None},
               ["rescaling"]),
        _layer("BatchNormalization", "stem_bn", {"axis": [3], "momentum": 0.9, "epsilon": 0.001, "center": True,
                                                 "scale": True, "beta_initializer": ZEROS, "gamma_initializer": ONES,
                                                 "moving_mean_initializer": ZEROS, "moving_variance_initializer": ONES,
                                                 "beta_regularizer": None, "gamma_regularizer": None,
                                                 "beta_constraint": None, "gamma_constraint": None}, ["stem_conv"]),
        _layer("Activation", "stem_activation", {"activation": "swish"}, ["stem_bn"]),
        _layer("DepthwiseConv2D", "block_dwconv", {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                                   "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                                                   "activation": "linear", "use_bias": True, "bias_initializer": ZEROS,
                                                   "bias_regularizer": None, "activity_regularizer": None,
                                                   "bias_constraint": None, "depth_multiplier": 1,
                                                   "depthwise_initializer": GLOROT, "depthwise_regularizer": None,
                                                   "depthwise_constraint": None}, ["stem_activation"]),
        _layer("Add", "block_add", {}, ["block_dwconv", "stem_activation"]),
    ]
    return {"class_name": "Functional", "config": {"name": "backbone", "trainable": True, "layers": layers,
                                                   "input_layers": [["input_2", 0, 0]],
                                                   "output_layers": [["block_add", 0, 0]]}}


def sequential_json() -> str:
    """The seed's shape: Sequential([backbone, pooling, dropout, Dense(1, sigmoid)]) → P(real)."""
    layers = [_input("input_1", False), backbone_config(),
              _layer("GlobalAveragePooling2D", "global_average_pooling2d",
                     {"data_format": "channels_last", "keepdims": False}, None),
              _layer("Dropout", "dropout", {"rate": 0.2, "noise_shape": None, "seed": None}, None),
              _layer("Dense", "dense", {"units": 1, "activation": "sigmoid", "use_bias": True,
                                        "kernel_initializer": GLOROT, "bias_initializer": ZEROS,
                                        "kernel_regularizer": None, "bias_regularizer": None,
                                        "activity_regularizer": None, "kernel_constraint": None,
                                        "bias_constraint": None}, None)]
    for layer in layers[1:]:
        layer.pop("inbound_nodes", None)
        layer.pop("name", None)
    return json.dumps({"class_name": "Sequential", "config": {"name": "sequential", "layers": layers},
                       "keras_version": "2.12.0", "backend": "tensorflow"})


def random_weights(seed: int = 5) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Top-level layer name → [(Keras-2 weight name, values)] in Keras 2's order."""
    rng = np.random.default_rng(seed)
    normal = lambda *shape, scale=0.3: (rng.normal(size=shape) * scale).astype(np.float32)  # noqa: E731
    backbone = [("stem_conv/kernel:0", normal(3, 3, 3, FILTERS)),
                ("stem_bn/gamma:0", 1 + normal(FILTERS, scale=0.1)), ("stem_bn/beta:0", normal(FILTERS, scale=0.1)),
                ("block_dwconv/depthwise_kernel:0", normal(3, 3, FILTERS, 1)),
                ("block_dwconv/bias:0", normal(FILTERS, scale=0.1)),
                # non-trainable last, as Keras 2 ordered a nested model's weights
                ("stem_bn/moving_mean:0", normal(FILTERS, scale=0.1)),
                ("stem_bn/moving_variance:0", (1 + np.abs(normal(FILTERS))).astype(np.float32))]
    return {"backbone": backbone, "dense": [("dense/kernel:0", normal(FILTERS, 1, scale=2.0)),
                                            ("dense/bias:0", normal(1, scale=0.5))]}


LAYER_NAMES = ["backbone", "global_average_pooling2d", "dropout", "dense"]


def write_weights(group: h5py.Group, weights: dict) -> None:
    group.attrs["layer_names"] = np.array([name.encode() for name in LAYER_NAMES])
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.12.0"
    for name in sorted(LAYER_NAMES):
        layer_group = group.create_group(name)
        entries = weights.get(name, [])
        layer_group.attrs["weight_names"] = np.array([weight.encode() for weight, _ in entries])
        for weight, values in entries:
            layer_group.create_dataset(weight, data=values)


def write_json_and_weights(folder: Path, weights: dict) -> tuple[Path, Path]:
    """model.json + weights.h5 (the seed's two files)."""
    json_path, weights_path = folder / "model.json", folder / "weights.h5"
    json_path.write_text(sequential_json())
    with h5py.File(weights_path, "w") as h5:
        write_weights(h5, weights)
    return json_path, weights_path


def write_full_h5(path: Path, weights: dict) -> Path:
    """One Keras-2 `model.save('x.h5')` file: the JSON in `model_config`, weights under `model_weights`."""
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = sequential_json().encode()
        h5.attrs["keras_version"] = b"2.12.0"
        h5.attrs["backend"] = b"tensorflow"
        write_weights(h5.create_group("model_weights"), weights)
    return path


def reference_p_real(images: np.ndarray, weights: dict) -> np.ndarray:
    """P(real) computed independently of Keras: the same network in plain numpy."""
    values = {name: array for entries in weights.values() for name, array in entries}
    x = images.astype(np.float64) / 127.5 - 1.0
    kernel = values["stem_conv/kernel:0"]
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))  # "same" with stride 2 on an even size pads after
    out = SIZE // 2
    conv = np.zeros((len(x), out, out, FILTERS))
    for dy in range(3):
        for dx in range(3):
            patch = padded[:, dy:dy + 2 * out:2, dx:dx + 2 * out:2, :]
            conv += patch @ kernel[dy, dx]
    bn = ((conv - values["stem_bn/moving_mean:0"]) / np.sqrt(values["stem_bn/moving_variance:0"] + 0.001)
          * values["stem_bn/gamma:0"] + values["stem_bn/beta:0"])
    act = bn / (1 + np.exp(-bn))
    depthwise = values["block_dwconv/depthwise_kernel:0"][..., 0]
    padded = np.pad(act, ((0, 0), (1, 1), (1, 1), (0, 0)))
    dw = sum(padded[:, dy:dy + out, dx:dx + out, :] * depthwise[dy, dx] for dy in range(3) for dx in range(3))
    features = (dw + values["block_dwconv/bias:0"] + act).mean(axis=(1, 2))
    logits = features @ values["dense/kernel:0"][:, 0] + values["dense/bias:0"][0]
    return 1 / (1 + np.exp(-logits))
