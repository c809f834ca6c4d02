"""Lab script (issue 31): a noise-residual (NPR) branch for generated faces, measured offline; nothing is served.

NPR (Tan et al., CVPR 2024): generators upsample, which leaves a fixed relation between neighbouring pixels.
The residual x − up(down(x)) (2× nearest) keeps that trace and drops the picture. A small CNN learns it from
the served face crops of faces-gan Train (GAN fakes against FFHQ reals) plus the reals of the other sources
(faces-swap Train frames, synthetic Train photos), so "not FFHQ" is not a shortcut. Reported: ROC AUC on
faces-gan Test as served, after JPEG q60, after JPEG q60 + half size, mirrored; and how often the other
sources' test reals score above the threshold that keeps 5% false alarms on faces-gan Validation.

    .venv/bin/python scripts/lab_npr.py --gan ../shared/data/faces-gan --swap ../shared/data/faces-swap \\
        --synthetic .cache/synthetic/seed20261126-T1500-V300 --holdout .cache/synthetic/seed20261127-T500
"""
from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

from models.data.pipeline import find_splits, load_images
from models.data.prepare import Preparer

SIZE = 256
CROP = 128


def crops(preparer: Preparer, split, name: str, label: int | None = None, limit: int | None = None, seed: int = 0):
    prepared = preparer.split(split, name)
    paths, labels = np.asarray(prepared.paths), np.asarray(prepared.labels, int)
    if label is not None:
        paths, labels = paths[labels == label], labels[labels == label]
    if limit and len(paths) > limit:
        keep = np.random.default_rng(seed).choice(len(paths), limit, replace=False)
        paths, labels = paths[keep], labels[keep]
    return load_images(list(paths), SIZE).astype(np.uint8), labels


def degrade(images: np.ndarray, quality: int | None = None, half: bool = False, mirror: bool = False) -> np.ndarray:
    out = []
    for image in images:
        picture = Image.fromarray(image)
        if half:
            picture = picture.resize((SIZE // 2, SIZE // 2), Image.BILINEAR).resize((SIZE, SIZE), Image.BILINEAR)
        if quality:
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=quality)
            picture = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
        if mirror:
            picture = picture.transpose(Image.FLIP_LEFT_RIGHT)
        out.append(np.asarray(picture))
    return np.stack(out)


def build(tf, pixels: bool = False):
    layers = tf.keras.layers

    def residual(x):
        x = x / 255.0
        if pixels:                                    # the control: the same network on the pixels themselves
            return x - 0.5
        up = tf.repeat(tf.repeat(x[:, ::2, ::2, :], 2, axis=1), 2, axis=2)
        return (x - up) * 10.0                        # the residual is small: scale it into the ReLUs' range

    inputs = tf.keras.Input((None, None, 3))
    x = layers.Lambda(residual)(inputs)
    for filters, stride in ((32, 1), (32, 2), (64, 2), (64, 2), (128, 2), (128, 2)):
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return tf.keras.Model(inputs, outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gan", type=Path, required=True)
    parser.add_argument("--swap", type=Path, required=True)
    parser.add_argument("--synthetic", type=Path, required=True)
    parser.add_argument("--holdout", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--pixels", action="store_true", help="the control: no residual, the pixels themselves")
    parser.add_argument("--native", action="store_true",
                        help="faces-gan's own 256² pixels instead of the served crops (no resampling), faces-gan only")
    args = parser.parse_args()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(7)
    preparer = Preparer(args.cache, SIZE, 1337)
    gan, swap = find_splits(args.gan), find_splits(args.swap)
    synthetic, holdout = find_splits(args.synthetic), find_splits(args.holdout)
    def native(_preparer, split, _name, label=None, limit=None):
        """faces-gan's own pixels: no crop, so no resampling (other sources differ in size: left out)."""
        paths, labels = np.asarray(split.paths), np.asarray(split.labels, int)
        if label is not None:
            paths, labels = paths[labels == label], labels[labels == label]
        return load_images(list(paths), SIZE).astype(np.uint8), labels

    load = native if args.native else crops
    parts = [load(preparer, gan["Train"], "faces-gan-Train")]
    if not args.native:
        parts += [crops(preparer, swap["Train"], "faces-swap-Train", label=0, limit=640),
                  crops(preparer, synthetic["Train"], "synthetic-Train", label=0, limit=300)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts]).astype(np.float32)
    x_val, y_val = load(preparer, gan["Validation"], "faces-gan-Validation")
    x_test, y_test = load(preparer, gan["Test"], "faces-gan-Test")
    other_reals = {"faces-swap Test reals": crops(preparer, swap["Test"], "faces-swap-Test", label=0)[0],
                   "synthetic holdout reals": crops(preparer, holdout["Test"], "synthetic-Test", label=0)[0]}
    print(f"train {len(x_train)} ({int(y_train.sum())} GAN fakes), validation {len(x_val)}, test {len(x_test)}")

    weights = np.where(y_train == 1, 0.5 / y_train.mean(), 0.5 / (1 - y_train.mean()))

    def batches():
        rng = np.random.default_rng(1)
        while True:
            index = rng.choice(len(x_train), 32, p=weights / weights.sum())
            top, left = (rng.integers(0, (SIZE - CROP) // 2, 2) * 2)        # even offsets keep the 2×2 grid
            batch = x_train[index, top:top + CROP, left:left + CROP]
            flip = rng.random(32) < 0.5
            batch[flip] = batch[flip, :, ::-1]
            yield batch.astype(np.float32), y_train[index]

    model = build(tf, pixels=args.pixels)
    model.compile(tf.keras.optimizers.Adam(1e-3), "binary_crossentropy")
    steps = len(x_train) // 32
    best, best_weights = 0.0, None
    for epoch in range(1, args.epochs + 1):
        started = time.time()
        loss = model.fit(batches(), steps_per_epoch=steps, epochs=1, verbose=0).history["loss"][-1]
        auc = roc_auc_score(y_val, model.predict(x_val.astype(np.float32), verbose=0, batch_size=32)[:, 0])
        if auc > best:
            best, best_weights = auc, model.get_weights()
        print(f"epoch {epoch}: loss {loss:.3f}, validation ROC AUC {auc:.3f} ({time.time() - started:.0f} s)", flush=True)
    model.set_weights(best_weights)

    def score(images):
        return model.predict(images.astype(np.float32), verbose=0, batch_size=32)[:, 0]

    threshold = float(np.quantile(score(x_val)[y_val == 0], 0.95))
    results = {"validation (best)": round(best, 3)}
    for name, images in {"faces-gan Test": x_test, "JPEG q60": degrade(x_test, 60),
                         "JPEG q60 + half size": degrade(x_test, 60, half=True), "mirrored": degrade(x_test, mirror=True)
                         }.items():
        scores = score(images)
        results[name] = {"roc_auc": round(roc_auc_score(y_test, scores), 3),
                         "false_alarms": round(float((scores[y_test == 0] >= threshold).mean()), 3),
                         "caught": round(float((scores[y_test == 1] >= threshold).mean()), 3)}
    for name, images in other_reals.items():
        results[name + " called fake"] = round(float((score(images) >= threshold).mean()), 3)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
