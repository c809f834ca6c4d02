"""Training: fit an architecture (or fine-tune an existing model) on a data folder."""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from models.data.pipeline import Split, dataset, example_weights

SEED = 1337
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
FINE_TUNE_LEARNING_RATE = 1e-4
WARMUP_EPOCHS = 1
MAP_WEIGHT = 1.0


@dataclass
class TrainResult:
    model: object              # keras.Model with the best validation weights
    history: dict[str, list[float]]
    seconds: float
    seconds_per_epoch: float
    epochs_run: int
    class_weights: dict[int, float] | None = None   # set when the training classes were unbalanced


def _BestCheckpoint(serving_model, path: Path, monitor: str):
    """Save the serving model (without the training-only map head) whenever `monitor` improves."""
    import keras

    class BestCheckpoint(keras.callbacks.Callback):
        best = -float("inf")

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(monitor)
            if value is not None and value > self.best:
                self.best = value
                serving_model.save(path)

    return BestCheckpoint()


def set_seed(seed: int) -> None:
    import keras

    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    keras.utils.set_random_seed(seed)


def _schedule(learning_rate: float, steps_per_epoch: int, epochs: int):
    import keras

    warmup = min(WARMUP_EPOCHS * steps_per_epoch, max(1, epochs * steps_per_epoch // 4))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate * 0.1, decay_steps=max(1, epochs * steps_per_epoch - warmup),
        warmup_target=learning_rate, warmup_steps=warmup, alpha=0.01)


def fit(train: Split, validation: Split, arch: str = "small_cnn", epochs: int = 20, init: str | Path | None = None,
        checkpoint_dir: str | Path | None = None, seed: int = SEED, batch_size: int = BATCH_SIZE,
        augment: str = "web", patience: int = 5, input_size: int = 256,
        sample_weights: list[float] | None = None, learning_rate: float | None = None,
        weights: str | Path | None = None, map_weight: float = MAP_WEIGHT,
        reencode_quality: int | None = None, callbacks: list | None = None, keep_best: bool = True) -> TrainResult:
    """Train a model and keep the weights with the best validation ROC AUC (or the last ones).

    Args:
        train: training files and labels.
        validation: validation files and labels (early stopping and checkpoint choice).
        arch: architecture name for a new model (ignored with `init`).
        epochs: maximum epochs; early stopping may end sooner.
        init: an existing `.keras` model to fine-tune instead of a new one.
        checkpoint_dir: where the best checkpoint and the history CSV are written.
        seed: fixes weights initialisation, shuffling and augmentation.
        batch_size: batch size.
        augment: "none", "seed" or "web" (see models.data.augment).
        patience: epochs without validation AUC gain before stopping.
        input_size: square input side.
        sample_weights: per-example training weights.
        learning_rate: peak learning rate (defaults: 1e-3 new, 1e-4 fine-tuning).
        weights: local backbone weights for a new efficientnetv2b0.
        map_weight: weight of the where-was-it-changed loss (0 trains on image labels alone).
        reencode_quality: the format-shortcut rule (models.data.pipeline): JPEG quality every image is
            re-encoded at, training and validation alike; None for data encoded alike already.
        callbacks: extra Keras callbacks (e.g. timers).
        keep_best: early stopping and the best validation epoch's weights; False runs every epoch
            and keeps the last weights (retraining: its gate judges the result on held-out data).
    """
    import keras

    from models.training.architectures import load_keras, make_model, with_map_head

    set_seed(seed)
    model = load_keras(init) if init else make_model(arch, input_size, weights)
    trainer = with_map_head(model)
    map_size = int(trainer.output["fake_map"].shape[1])
    sample_weights, class_weights = example_weights(train, sample_weights)
    train_data = dataset(train, input_size, batch_size, training=True, seed=seed, augment=augment,
                         sample_weights=sample_weights, map_size=map_size, reencode_quality=reencode_quality)
    validation_data = dataset(validation, input_size, batch_size, training=False, seed=seed, map_size=map_size,
                              reencode_quality=reencode_quality)
    steps = max(1, -(-len(train.paths) // batch_size))
    peak = learning_rate or (FINE_TUNE_LEARNING_RATE if init else LEARNING_RATE)
    trainer.compile(optimizer=keras.optimizers.Adam(_schedule(peak, steps, epochs)),
                    loss={"fake_probability": keras.losses.BinaryCrossentropy(),
                          "fake_map": keras.losses.BinaryCrossentropy()},
                    loss_weights={"fake_probability": 1.0, "fake_map": map_weight},
                    metrics={"fake_probability": [
                        keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy"),
                        keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")]})
    monitor = "val_fake_probability_auc"
    callbacks = [*(callbacks or [])]
    if keep_best:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=patience,
                                                       restore_best_weights=True))
    if checkpoint_dir:
        folder = Path(checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(folder / "history.csv")))
        if keep_best:
            callbacks.append(_BestCheckpoint(model, folder / "best.keras", monitor))
    started = time.perf_counter()
    history = trainer.fit(train_data, validation_data=validation_data, epochs=epochs, callbacks=callbacks,
                          verbose=1 if sys.stdout.isatty() else 2)
    seconds = time.perf_counter() - started
    epochs_run = len(history.history.get("loss", [])) or 1
    clean = {key.replace("fake_probability_", ""): [float(v) for v in values]
             for key, values in history.history.items() if key != "learning_rate"}
    if checkpoint_dir:
        (Path(checkpoint_dir) / "history.json").write_text(json.dumps(clean, indent=1))
    return TrainResult(model=model, history=clean, seconds=seconds, seconds_per_epoch=seconds / epochs_run,
                       epochs_run=epochs_run, class_weights=class_weights)
