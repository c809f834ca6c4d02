"""Model code: architectures, data, training, evaluation, export and the registry.

Importing this package is cheap: TensorFlow is imported only by the modules that train or export.
"""
from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
# Architectures `make_model` builds (see models.architectures); here so the CLI need not import Keras.
ARCHITECTURES = ("small_cnn", "pixel_cnn", "efficientnetv2b0")
