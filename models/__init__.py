"""Model code in three rooms: `data/` (training data), `training/` (architectures, fitting, detectors, export,
the servable model folder) and `evaluation/` (metrics, robustness, plots, report, card); `default/` holds the
shipped model. The registry lives in core/registry.py.

Importing this package is cheap: TensorFlow is imported only by the modules that train or export.
"""
import importlib.util
import os

from core.registry import DEFAULT_MODEL_DIR  # noqa: F401  (the shipped model is package data here)

# Architectures `make_model` builds (see models.training.architectures); here so the CLI need not import Keras.
ARCHITECTURES = ("small_cnn", "pixel_cnn", "efficientnetv2b0")


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter out of the output (call before it is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# The import names of the `train` extra (pyproject.toml): training, evaluation, export and retraining need them all.
TRAIN_EXTRA_MODULES = ("tensorflow", "tf2onnx", "onnx", "sklearn", "skimage", "matplotlib")
TRAIN_EXTRA_INSTALL = "pip install 'deepfake-guard[train]' (from a checkout: pip install -e '.[train]')"


def missing_train_packages() -> list[str]:
    """The `train` extra's modules this installation lacks (found without importing them)."""
    return [name for name in TRAIN_EXTRA_MODULES if importlib.util.find_spec(name) is None]
