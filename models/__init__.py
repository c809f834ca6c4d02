"""Model code: architectures, data, training, evaluation, export and the registry.

Importing this package is cheap: TensorFlow is imported only by the modules that train or export.
"""
import os

from core.registry import DEFAULT_MODEL_DIR  # noqa: F401  (the shipped model is package data here)
# Architectures `make_model` builds (see models.architectures); here so the CLI need not import Keras.
ARCHITECTURES = ("small_cnn", "pixel_cnn", "efficientnetv2b0")


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter out of the output (call before it is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
