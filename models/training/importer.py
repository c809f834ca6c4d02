"""Import models saved by Keras 2 (the seed's format) or Keras 3, flipped to output P(fake).

Keras 2 wrote a model as JSON (`model.to_json()`) plus an HDF5 weights file (`save_weights`), or as
one HDF5 file (`model.save("x.h5")`: the same JSON in the `model_config` attribute and the weights
under `model_weights`). Keras 3 cannot read that JSON as is: its objects carry no `module` key, a
BatchNormalization `axis` is a list, an InputLayer has `batch_input_shape`, and some layers carry
arguments Keras 3 dropped (DepthwiseConv2D `groups`). `keras3_config` rewrites the JSON; the HDF5
weights are then read in Keras 2's order (each layer's trainable weights, then its other weights).

Three names come from Keras's private `keras.src` package, because its public API has nothing for them:
the Functional class a saved config names as its module (`keras.src.models.functional`), the lookup of
a class by its exported name (`keras.src.api_export.get_symbol_from_name`), and Keras 2's HDF5 weight
reader (`keras.src.legacy.saving.legacy_h5_format`). A Keras release may move them:
tests/models/test_import.py imports real Keras-2 files, so such a release fails there, not in an
operator's hands.
"""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import keras

from models.training.layers import Complement

MODEL_CLASSES = {"Functional": ("keras.src.models.functional", "Functional"),
                 "Model": ("keras.src.models.functional", "Functional"),
                 "Sequential": ("keras", None)}
OBJECT_MODULES = ("keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints")
BASE_LAYER_ARGUMENTS = {"name", "trainable", "dtype", "autocast", "input_dim", "input_shape", "batch_input_shape"}


@dataclass
class Conversion:
    """What keras3_config changed (recorded in the imported model's metadata)."""

    changes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.changes:
            self.changes.append(text)


def _keras_class(module: str, name: str):
    from keras.src.api_export import get_symbol_from_name

    return get_symbol_from_name(f"{module}.{name}")


def _accepted_arguments(cls) -> set[str] | None:
    parameters = inspect.signature(cls.__init__).parameters
    names = {name for name in parameters if name != "self"}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        names |= BASE_LAYER_ARGUMENTS
    return names


def _fix_layer_config(class_name: str, cls, config: dict, conversion: Conversion) -> None:
    if class_name == "InputLayer" and "batch_input_shape" in config:
        config["batch_shape"] = config.pop("batch_input_shape")
        conversion.note("InputLayer batch_input_shape → batch_shape")
    axis = config.get("axis")
    if isinstance(axis, list) and len(axis) == 1:
        config["axis"] = int(axis[0])
        conversion.note(f"{class_name} axis [n] → n")
    if isinstance(config.get("dtype"), dict):  # Keras 2.13+ wrote dtype policies as objects
        config["dtype"] = config["dtype"].get("config", {}).get("name", "float32")
    if cls is None or not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
        return
    accepted = _accepted_arguments(cls)
    for key in sorted(set(config) - accepted):
        config.pop(key)
        conversion.note(f"dropped {class_name}.{key} (not a Keras 3 argument)")


def keras3_config(node, conversion: Conversion | None = None):
    """A Keras-2 model config (parsed JSON) rewritten so Keras 3 can deserialize it; recursive."""
    conversion = conversion if conversion is not None else Conversion()
    if isinstance(node, list):
        return [keras3_config(item, conversion) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: keras3_config(value, conversion) for key, value in node.items()}
    class_name, config = node.get("class_name"), node.get("config")
    if not isinstance(class_name, str) or not isinstance(config, dict) or "module" in node:
        return node
    if class_name in MODEL_CLASSES:
        module, registered = MODEL_CLASSES[class_name]
        node.update(class_name="Functional" if class_name == "Model" else class_name, module=module,
                    registered_name=registered)
        for key in ("input_layers", "output_layers"):
            # Keras 2 wrote one input/output as [[name, 0, 0]]; Keras 3 reads that as a list of one
            # tensor, which breaks a nested model's caller, and wants [name, 0, 0].
            ends = config.get(key)
            if isinstance(ends, list) and len(ends) == 1 and isinstance(ends[0], list):
                config[key] = ends[0]
                conversion.note(f"single {key} [[name, 0, 0]] → [name, 0, 0]")
        conversion.note("added module keys")
        return node
    for module in OBJECT_MODULES:
        cls = _keras_class(module, class_name)
        if cls is not None:
            node.update(module=module, registered_name=None)
            if module == "keras.layers":
                _fix_layer_config(class_name, cls, config, conversion)
            conversion.note("added module keys")
            return node
    return node  # a custom class: left for keras' registry (or a clear error from it)


def model_from_keras2_json(text: str) -> tuple[keras.Model, Conversion]:
    conversion = Conversion()
    config = keras3_config(json.loads(text), conversion)
    config.pop("keras_version", None)
    config.pop("backend", None)
    return keras.saving.deserialize_keras_object(config), conversion


def load_keras2_weights(model: keras.Model, group) -> None:
    """Load Keras-2 HDF5 weights (a weights file's root, or a full file's `model_weights` group)."""
    from keras.src.legacy.saving.legacy_h5_format import load_weights_from_hdf5_group

    load_weights_from_hdf5_group(group, model)


def load_any(path: Path, weights: Path | None = None) -> tuple[keras.Model, str, list[str]]:
    """Load a model in any supported format. Returns (model, format name, conversion notes)."""
    import h5py

    path = Path(path)
    if path.suffix == ".keras":
        return keras.models.load_model(path, compile=False), "keras3", []
    if path.suffix == ".json":
        if weights is None:
            raise ValueError(f"{path} holds only the architecture: give its weights with --weights FILE.h5")
        model, conversion = model_from_keras2_json(path.read_text())
        with h5py.File(weights, "r") as h5:
            load_keras2_weights(model, h5["model_weights"] if "model_weights" in h5 else h5)
        return model, "keras2 json + h5 weights", conversion.changes
    if path.suffix in (".h5", ".hdf5"):
        with h5py.File(path, "r") as h5:
            config = h5.attrs.get("model_config")
            if config is None:
                raise ValueError(f"{path} has no model_config: it is a weights file; give the JSON architecture "
                                 "as PATH and this file as --weights")
            model, conversion = model_from_keras2_json(config.decode() if isinstance(config, bytes) else config)
            load_keras2_weights(model, h5["model_weights"])
        return model, "keras2 full h5", conversion.changes
    raise ValueError(f"{path}: unknown model format; give a .keras file, a Keras-2 .h5 file, or a .json "
                     "architecture with --weights FILE.h5")


def as_fake_probability(model: keras.Model, output_is: str = "real") -> keras.Model:
    """The model with one input of raw RGB pixels and P(fake) out; P(real) models are wrapped as 1 − P(real)."""
    if model.output_shape[-1] != 1 or len(model.outputs) != 1:
        raise ValueError(f"expected one sigmoid output (N×1), got output shape {model.output_shape}")
    shape = model.input_shape[1:]
    if None in shape or len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3:
        raise ValueError(f"expected a square RGB input (S×S×3), got {model.input_shape}")
    if output_is == "fake":
        return model
    inputs = keras.Input(shape, name="image")
    outputs = Complement(name="fake_probability")(model(inputs))
    return keras.Model(inputs, outputs, name=f"{model.name}_fake")
