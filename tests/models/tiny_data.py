"""Tiny generated data sets for training tests: easy to learn, made in milliseconds, no downloads."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def write_tiny_set(root: Path, count: int, size: int = 64, fake_count: int | None = None, seed: int = 0,
                   splits: dict[str, int] | None = None) -> Path:
    """Real: smooth colour gradients with mild noise. Fake: the same kind with a blocky (4× nearest) patch."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    other = splits or {"Validation": 8}
    for split, n_real, n_fake in (("Train", count, fake_count or count), *((k, v, v) for k, v in other.items())):
        for label, n in (("Real", n_real), ("Fake", n_fake)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(n):
                image = 40 + 160 * np.outer(ramp, ramp[::-1])[..., None] * rng.uniform(0.4, 1.0, 3)
                image = image + rng.normal(0, 6, image.shape)
                if label == "Fake":
                    side = size // 2
                    y, x = rng.integers(0, size - side, 2)
                    patch = image[y:y + side:4, x:x + side:4]
                    image[y:y + side, x:x + side] = np.repeat(np.repeat(patch, 4, 0), 4, 1)
                Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"{index:03d}.png")
    return root


def write_real_faces(root: Path, counts: dict[str, int], seed: int = 0, size: int = 256) -> Path:
    """A folder of "real" face photos in the seed's layout: ROOT/<split>/Real/*.jpg.

    Each is a random framing of one of the two package portraits (astronaut, Grace Hopper): the face
    at a random scale and offset, maybe mirrored, with a slight colour cast, JPEG q92.
    """
    from models.data.synthetic import FACE_BOXES, sample_photos

    photos = {name: pixels for name, pixels in sample_photos() if name in FACE_BOXES}
    rng = np.random.default_rng(seed)
    for split, count in counts.items():
        folder = root / split / "Real"
        folder.mkdir(parents=True)
        for index in range(count):
            name = ("astronaut", "grace_hopper")[index % 2]
            pixels = photos[name]
            x, y, w, h = FACE_BOXES[name]
            side = max(w, h) * rng.uniform(1.6, 2.4)
            cx, cy = x + w / 2 + rng.uniform(-0.1, 0.1) * w, y + h / 2 + rng.uniform(-0.1, 0.1) * h
            height, width = pixels.shape[:2]
            side = min(side, width, height)
            left = min(max(cx - side / 2, 0), width - side)
            top = min(max(cy - side / 2, 0), height - side)
            box = (left, top, left + side, top + side)
            image = Image.fromarray(pixels).resize((size, size), Image.BILINEAR, box=box)
            if rng.uniform() < 0.5:
                image = image.transpose(Image.FLIP_LEFT_RIGHT)
            tinted = np.asarray(image, np.float32) * rng.uniform(0.9, 1.1, 3)
            Image.fromarray(np.clip(tinted, 0, 255).astype(np.uint8)).save(folder / f"{index:03d}.jpg", quality=92)
    return root


def write_faces_with_blurred_fakes(root: Path, counts: dict[str, int], blur: float,
                                   fake_splits: tuple[str, ...] | None = None) -> Path:
    """Real: framings of the package portraits (write_real_faces). Fake: other framings, Gaussian-blurred by
    `blur` px (smoothed skin, a GAN-like look), in `fake_splits` (default: every split)."""
    write_real_faces(root, counts, seed=1)
    source = write_real_faces(root.parent / f"{root.name}-to-blur", counts, seed=2)
    for split in fake_splits or tuple(counts):
        (root / split / "Fake").mkdir()
        for path in sorted((source / split / "Real").glob("*.jpg")):
            with Image.open(path) as image:
                image.filter(ImageFilter.GaussianBlur(blur)).save(root / split / "Fake" / path.name, quality=92)
    shutil.rmtree(source)
    return root


BACKBONE_SIZE = 224


def tiny_backbone(path, seed: int = 0):
    """A small ONNX feature extractor with the backbone contract: `pixels` N×224×224×3 (0–255) → `features`."""
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    kernel = numpy_helper.from_array((rng.normal(size=(8, 3, 5, 5)) / 255).astype(np.float32), "kernel")
    nodes = [helper.make_node("Transpose", ["pixels"], ["nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["nchw", "kernel"], ["conv"], strides=[4, 4]),
             helper.make_node("Relu", ["conv"], ["relu"]),
             helper.make_node("ReduceMean", ["relu"], ["mean"], axes=[2, 3], keepdims=0),
             helper.make_node("ReduceMax", ["relu"], ["peak"], axes=[2, 3], keepdims=0),
             helper.make_node("Concat", ["mean", "peak"], ["features"], axis=1)]
    graph = helper.make_graph(nodes, "tiny-backbone",
                              [helper.make_tensor_value_info("pixels", onnx.TensorProto.FLOAT,
                                                             ["N", BACKBONE_SIZE, BACKBONE_SIZE, 3])],
                              [helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, ["N", 16])],
                              [kernel])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path
