"""Model builders. Every model takes raw 0–255 RGB pixels and outputs P(fake)."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from models import ARCHITECTURES
from models.training.layers import BlockColour, BlockEnergy, Truncate

INPUT_SIZE = 256
BLOCK = 8               # small_cnn summarises traces over 8×8 pixel blocks
FEATURES = "features"   # the last feature map of every architecture (the training map head reads it)


def _conv_block(x, filters: int, name: str):
    for index in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{index}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{index}")(x)
        x = layers.ReLU(name=f"{name}_relu{index}")(x)
    return x


# Fixed high-pass filters from steganalysis (SRM): they cancel image content and leave the noise
# residual where resampling, blending and upsampling traces live.
SRM_KERNELS = (
    np.array([[0, 0, 0, 0, 0], [0, -1, 2, -1, 0], [0, 2, -4, 2, 0], [0, -1, 2, -1, 0], [0, 0, 0, 0, 0]]) / 4.0,
    np.array([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2],
              [-1, 2, -2, 2, -1]]) / 12.0,
    np.array([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, -2, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]) / 2.0,
)
RESIDUAL_CLIP = 3.0 / 127.5  # truncate residuals at ±3 grey levels (inputs are scaled to [-1, 1])


def noise_residuals(x):
    """Per-channel SRM residuals, truncated: 3 kernels × 3 colour channels = 9 channels."""
    kernel = np.stack(SRM_KERNELS, axis=-1)[:, :, None, :].repeat(3, axis=2).astype("float32")  # 5×5×3×3
    srm = layers.DepthwiseConv2D(5, padding="same", depth_multiplier=len(SRM_KERNELS), use_bias=False,
                                 trainable=False, name="srm")
    residual = srm(x)
    srm.set_weights([kernel])
    return Truncate(RESIDUAL_CLIP, name="srm_truncate")(residual)


def small_cnn(input_size: int = INPUT_SIZE, filters: int = 8, width: int = 32, dropout: float = 0.3) -> keras.Model:
    """The fast default: pixel-level traces summarised per 8×8 block, then a small CNN on the block grid.

    Full-resolution filters (fixed SRM high-pass filters plus `filters` learned ones) see the
    finest traces that resampling, upsampling and blending leave; their energy per block, with each
    block's colour mean and spread, forms a 32×32 grid (for 256² input) on which a small CNN looks
    for the region that does not fit the rest. All heavy lifting happens on that small grid, which
    makes training on a CPU practical.
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    learned = layers.Conv2D(filters, 5, padding="same", use_bias=False, name="trace_filters")(x)
    residuals = layers.Concatenate(name="residuals")([noise_residuals(x), learned])
    grid = layers.Concatenate(name="block_grid")([BlockEnergy(BLOCK, name="block_energy")(residuals),
                                                  BlockColour(BLOCK, name="block_colour")(x)])
    x = layers.BatchNormalization(name="grid_bn")(grid)
    x = _conv_block(x, width, name="grid0")
    x = layers.MaxPooling2D(2, name="grid0_pool")(x)
    x = _conv_block(x, width * 2, name="grid1")
    x = layers.Identity(name=FEATURES)(x)
    x = layers.MaxPooling2D(2, name="grid1_pool")(x)
    x = _conv_block(x, width * 4, name="grid2")
    x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling2D(name="gap")(x),
                                         layers.GlobalMaxPooling2D(name="gmp")(x)])
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="fake_probability")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def pixel_cnn(input_size: int = INPUT_SIZE, width: int = 12, dropout: float = 0.3) -> keras.Model:
    """A plain CNN that keeps pixel-level traces: two full-resolution convs before any pooling.

    Slower to train than small_cnn; kept for data where end-to-end features pay off.
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    x = layers.Concatenate(name="colour_and_residuals")([x, noise_residuals(x)])
    for stage, multiplier in enumerate((1, 2, 4, 8)):
        x = _conv_block(x, width * multiplier, name=f"stage{stage}")
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
    x = _conv_block(x, width * 8, name="stage4")
    x = layers.Identity(name=FEATURES)(x)
    # Manipulations are often local: max pooling keeps a small region's evidence that an average
    # over the whole image would dilute.
    x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling2D(name="gap")(x),
                                         layers.GlobalMaxPooling2D(name="gmp")(x)])
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="fake_probability")(x)
    return keras.Model(inputs, outputs, name="pixel_cnn")


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
    x = layers.Identity(name=FEATURES)(base(inputs))
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
    if arch == "pixel_cnn":
        return pixel_cnn(input_size)
    if arch == "efficientnetv2b0":
        return efficientnetv2b0(input_size, weights=weights)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def with_map_head(model: keras.Model) -> keras.Model:
    """The training model: `model`'s P(fake) plus a map of P(changed) per feature cell.

    Supervising where an image was changed (masks of synthetic fakes; all-ones for wholly generated
    images, all-zeros for real ones) teaches a small network far faster than one label per image.
    Serving uses `model` alone.
    """
    features = model.get_layer(FEATURES).output
    fake_map = layers.Conv2D(1, 1, activation="sigmoid", name="fake_map")(features)
    return keras.Model(model.inputs, {"fake_probability": model.output, "fake_map": fake_map}, name=model.name + "_train")


def load_keras(path: str | Path) -> keras.Model:
    """Load a saved model (this module registers the custom layers its architectures use)."""
    return keras.models.load_model(path, compile=False)
