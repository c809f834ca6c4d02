"""Model builders. Every model takes raw 0–255 RGB pixels and outputs P(fake)."""
from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

INPUT_SIZE = 256
ARCHITECTURES = ("small_cnn", "efficientnetv2b0")


def _conv_block(x, filters: int, name: str):
    for index in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{index}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{index}")(x)
        x = layers.ReLU(name=f"{name}_relu{index}")(x)
    return x


def small_cnn(input_size: int = INPUT_SIZE, width: int = 12, dropout: float = 0.3) -> keras.Model:
    """A fast CNN that keeps pixel-level traces: no striding or pooling before two full-resolution convs.

    Manipulation traces (resampling, blending seams, JPEG grids) live in the highest frequencies;
    an early stride or resize would throw them away.
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    for stage, multiplier in enumerate((1, 2, 4, 8)):
        x = _conv_block(x, width * multiplier, name=f"stage{stage}")
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
    x = _conv_block(x, width * 8, name="stage4")
    # Manipulations are often local: max pooling keeps a small region's evidence that an average
    # over the whole image would dilute.
    x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling2D(name="gap")(x),
                                         layers.GlobalMaxPooling2D(name="gmp")(x)])
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="fake_probability")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def efficientnetv2b0(input_size: int = INPUT_SIZE, weights: str | Path | None = None,
                     dropout: float = 0.2) -> keras.Model:
    """The seed's architecture: EfficientNetV2B0 with its own preprocessing and a sigmoid head.

    Pretrained weights are used only from a local file (`weights`); nothing is ever downloaded.
    """
    base = keras.applications.EfficientNetV2B0(include_top=False, weights=None, include_preprocessing=True,
                                               input_shape=(input_size, input_size, 3))
    if weights:
        base.load_weights(str(weights), skip_mismatch=True)
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = base(inputs)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="fake_probability")(x)
    return keras.Model(inputs, outputs, name="efficientnetv2b0")


def make_model(arch: str, input_size: int = INPUT_SIZE, weights: str | Path | None = None) -> keras.Model:
    """Build an architecture by name.

    Args:
        arch: one of ARCHITECTURES.
        input_size: square input side in pixels.
        weights: local weights file for the backbone (efficientnetv2b0 only).
    """
    if arch == "small_cnn":
        return small_cnn(input_size)
    if arch == "efficientnetv2b0":
        return efficientnetv2b0(input_size, weights=weights)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
