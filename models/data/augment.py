"""Training augmentations: the seed's (flip, rotation, zoom, contrast) and the web's (JPEG
re-encoding, blur, down/up-scaling, colour tints), as stateless TensorFlow ops.

Every random draw comes from a per-example seed pair, so a run with the same seed repeats.
Real and fake examples get the same augmentations, so none of them can become a label shortcut.
"""
from __future__ import annotations

import tensorflow as tf

JPEG_QUALITY = (50, 95)
RESCALE_FACTOR = (0.4, 0.9)
BLUR_SIGMA = (0.3, 1.5)
TINT = 0.08
P_JPEG, P_RESCALE, P_BLUR, P_TINT = 0.5, 0.4, 0.2, 0.3


def _seed(pair, salt: int):
    return tf.stack([pair[0], pair[1] + salt])


def _chance(pair, salt: int, probability: float):
    return tf.random.stateless_uniform([], _seed(pair, salt)) < probability


def gaussian_blur(image, sigma):
    """Blur a float H×W×3 image with a separable Gaussian kernel of the given sigma."""
    radius = 3
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / sigma))
    kernel = kernel / tf.reduce_sum(kernel)
    image = image[None]
    horizontal = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, 3, 1])
    vertical = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, 3, 1])
    image = tf.pad(image, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    image = tf.nn.depthwise_conv2d(image, horizontal, [1, 1, 1, 1], "VALID")
    image = tf.nn.depthwise_conv2d(image, vertical, [1, 1, 1, 1], "VALID")
    return image[0]


def augment_image(item, pair, level: str):
    """Per-example augmentations on a uint8 image (flip at every level; web degradations for 'web').

    The change mask is flipped with the image; the degradations do not move pixels, so it keeps.
    """
    image, mask, label, weight = item
    size = tf.shape(image)[:2]
    image = tf.image.stateless_random_flip_left_right(image, _seed(pair, 1))
    mask = tf.image.stateless_random_flip_left_right(mask, _seed(pair, 1))
    if level == "web":
        image = tf.cast(image, tf.float32)
        if _chance(pair, 4, P_BLUR):
            image = gaussian_blur(image, tf.random.stateless_uniform([], _seed(pair, 5), *BLUR_SIGMA))
        if _chance(pair, 6, P_TINT):
            gains = tf.random.stateless_uniform([3], _seed(pair, 7), 1 - TINT, 1 + TINT)
            image = image * gains
        # The web's order: an image is shrunk, then JPEG-encoded at its small size; the server's crop
        # scales it back up. A JPEG at full size is the other common case.
        rescale = _chance(pair, 2, P_RESCALE)
        factor = tf.where(rescale, tf.random.stateless_uniform([], _seed(pair, 3), *RESCALE_FACTOR), 1.0)
        small = tf.maximum(tf.cast(tf.cast(size, tf.float32) * factor, tf.int32), 1)
        image = tf.cond(rescale, lambda: tf.image.resize(image, small, antialias=True), lambda: image)
        image = tf.cast(tf.clip_by_value(image + 0.5, 0, 255), tf.uint8)
        if _chance(pair, 8, P_JPEG):
            image = tf.image.stateless_random_jpeg_quality(image, *JPEG_QUALITY, _seed(pair, 9))
        image = tf.cond(rescale, lambda: tf.cast(tf.clip_by_value(
            tf.image.resize(tf.cast(image, tf.float32), size) + 0.5, 0, 255), tf.uint8), lambda: image)
        image = tf.ensure_shape(image, [None, None, 3])
    return image, mask, label, weight


P_GEOMETRY = 0.5


def seed_geometry(seed: int):
    """The seed project's batch augmentations: small rotation and zoom (image and mask together), contrast."""
    import keras

    return (keras.Sequential([keras.layers.RandomRotation(0.03, fill_mode="reflect", seed=seed),
                              keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 1)], name="geometry"),
            keras.layers.RandomContrast(0.1, seed=seed + 2))


def augment_batch(item, pair, geometry):
    """Apply the seed's augmentations to half of the batches: interpolation blurs pixel-level traces,
    so the model must also see unresampled images."""
    images, masks, labels, weights = item
    warp, contrast = geometry

    def apply():
        both = warp(tf.concat([tf.cast(images, tf.float32), tf.cast(masks, tf.float32)], axis=-1), training=True)
        warped = contrast(both[..., :3], training=True)
        return (tf.cast(tf.clip_by_value(warped + 0.5, 0, 255), tf.uint8),
                tf.cast(tf.clip_by_value(both[..., 3:] + 0.5, 0, 255), tf.uint8))
    images, masks = tf.cond(_chance(pair, 10, P_GEOMETRY), apply, lambda: (images, masks))
    return images, masks, labels, weights
