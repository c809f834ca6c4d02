"""Custom layers of the trace network (registered, so saved models load and export to ONNX)."""
from __future__ import annotations

import keras
from keras import layers, ops

PACKAGE = "deepfake_guard"


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockEnergy(layers.Layer):
    """log(mean of squares) of each channel over non-overlapping blocks: how much residual each block holds."""

    def __init__(self, block: int = 8, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.block, self.epsilon = block, epsilon

    def call(self, x):
        energy = ops.average_pool(ops.square(x), self.block, self.block, padding="valid")
        return ops.log(ops.maximum(energy, self.epsilon))

    def get_config(self):
        return {**super().get_config(), "block": self.block, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockColour(layers.Layer):
    """Mean and standard deviation of each channel over non-overlapping blocks."""

    def __init__(self, block: int = 8, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.block, self.epsilon = block, epsilon

    def call(self, x):
        mean = ops.average_pool(x, self.block, self.block, padding="valid")
        square = ops.average_pool(ops.square(x), self.block, self.block, padding="valid")
        std = ops.sqrt(ops.maximum(square - ops.square(mean), self.epsilon))
        return ops.concatenate([mean, std], axis=-1)

    def get_config(self):
        return {**super().get_config(), "block": self.block, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Truncate(layers.Layer):
    """clip(x, -limit, limit) / limit: steganalysis-style truncation of noise residuals to [-1, 1]."""

    def __init__(self, limit: float, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, x):
        return ops.clip(x, -self.limit, self.limit) * (1.0 / self.limit)

    def get_config(self):
        return {**super().get_config(), "limit": self.limit}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Complement(layers.Layer):
    """1 − x: turns an imported model's P(real) into P(fake)."""

    def call(self, x):
        return 1.0 - x


@keras.saving.register_keras_serializable(package=PACKAGE)
class MeanStd(layers.Layer):
    """Each channel's mean and standard deviation over the map (N×H×W×C → N×2C): what a head on a face
    network's map reads (the pooled features of models/backbone.py)."""

    def __init__(self, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, x):
        mean = ops.mean(x, axis=(1, 2))
        square = ops.mean(ops.square(x), axis=(1, 2))
        return ops.concatenate([mean, ops.sqrt(ops.maximum(square - ops.square(mean), self.epsilon))], axis=-1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
