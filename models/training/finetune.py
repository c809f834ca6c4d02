"""Fine-tune faceres's top blocks and a fake head on cached trunk maps, one checkpoint per epoch.

The head is warmed up first with the pretrained blocks frozen, then blocks and head train together at a low
learning rate (a high one collapsed the deeper cut to a constant output, issue 31). Every epoch writes
`checkpoints/last.keras` (model and optimizer), `state.json` and a row of `curve.csv` (seconds, loss and the
ROC AUC of every evaluation set, drawn in `curve.png`); `best.keras` keeps the epoch with the best mean validation AUC. A run
resumes from `last.keras` and stops by itself before a wall-clock deadline.
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.data.finetune_data import Pools, epoch_batches
from models.evaluation.plots import learning_curve
from models.training.trunk_cache import TrunkCache

STATE, CURVE, CURVE_PLOT, CHECKPOINTS = "state.json", "curve.csv", "curve.png", "checkpoints"
SELECTION = "Validation"     # best.keras is chosen on the evaluation sets with this in their name (never on Test)


@dataclass(frozen=True)
class FinetuneConfig:
    cut: str = "conv_pw_11"
    epochs: int = 40
    warmup_epochs: int = 2       # head only, pretrained blocks frozen
    head_lr: float = 1e-3
    lr: float = 1e-4             # blocks and head together after the warm-up
    cell: int = 8                # reals and fakes of each source in a batch (batch = 4 × cell)
    dropout: float = 0.2
    seed: int = 1337
    gan_source: str = "faces-gan"
    swap_source: str = "faces-swap"
    face_crop: bool = False      # trained on the server's face crops (models.data.prepare), not whole images


def _set_phase(top, config: FinetuneConfig, epoch: int) -> None:
    import keras

    from models.training.faceres_keras import block_layers

    fine = epoch > config.warmup_epochs
    for layer in block_layers(top):
        layer.trainable = fine
    top.compile(optimizer=keras.optimizers.Adam(config.lr if fine else config.head_lr),
                loss=keras.losses.BinaryCrossentropy(from_logits=True))


def _phase(config: FinetuneConfig, epoch: int) -> str:
    return "blocks+head" if epoch > config.warmup_epochs else "head"


def scores(top, cache: TrunkCache, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of a cache's usable examples in view 0."""
    rows = np.flatnonzero(cache.usable)
    logits = [np.asarray(top(cache.batch(rows[i:i + batch], np.zeros(len(rows[i:i + batch]), int)), training=False))
              for i in range(0, len(rows), batch)]
    return np.concatenate(logits).reshape(-1), cache.labels[rows]


def evaluate(top, caches: dict[str, TrunkCache]) -> dict[str, float]:
    """ROC AUC per evaluation cache."""
    from sklearn.metrics import roc_auc_score

    aucs = {}
    for name, cache in caches.items():
        logits, labels = scores(top, cache)
        aucs[name] = float(roc_auc_score(labels, logits)) if len(np.unique(labels)) == 2 else float("nan")
    return aucs


def _append_curve(run: Path, row: dict) -> None:
    path = run / CURVE
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def start(run: Path, blocks, config: FinetuneConfig, map_shape: tuple[int, ...], resume: bool):
    """(top model, config, the last finished epoch) for a new run, or from the run's last checkpoint."""
    import keras

    from models.training.faceres_keras import make_top

    run.mkdir(parents=True, exist_ok=True)
    state_file = run / STATE
    if state_file.exists() and not resume:
        raise SystemExit(f"{run} already holds a run (epoch {json.loads(state_file.read_text())['epoch']}); "
                         "pass --resume to continue it, or choose another --run folder")
    if resume and state_file.exists():
        state = json.loads(state_file.read_text())
        saved = FinetuneConfig(**state["config"])
        config = FinetuneConfig(**{**asdict(saved), "epochs": config.epochs})   # a resume may extend the run
        import models.training.layers  # noqa: F401  (registers MeanStd for loading)

        top = keras.models.load_model(run / CHECKPOINTS / "last.keras")
        return top, config, int(state["epoch"])
    top = make_top(blocks, config.cut, map_shape, config.dropout, config.seed)
    return top, config, 0


def train(run: Path, top, config: FinetuneConfig, done: int, train_cache: TrunkCache,
          eval_caches: dict[str, TrunkCache], deadline: float | None = None, progress=print) -> list[dict]:
    """Train epochs done+1 … config.epochs (or until the deadline); returns the curve rows written."""
    import keras

    keras.utils.set_random_seed(config.seed + done)
    pools = Pools.of(train_cache.examples, train_cache.usable, config.gan_source, config.swap_source)
    progress(f"pools: {pools.sizes()}; views {len(train_cache.maps)}; epochs {done + 1}…{config.epochs}")
    if not done or _phase(config, done) != _phase(config, done + 1):   # else the checkpoint carries the optimizer
        _set_phase(top, config, done + 1)
    best = json.loads((run / STATE).read_text()).get("best_mean_auc", -1.0) if (run / STATE).exists() else -1.0
    rows, last_seconds = [], None
    for epoch in range(done + 1, config.epochs + 1):
        if deadline is not None and last_seconds is not None and time.time() + last_seconds > deadline:
            progress(f"stopping before epoch {epoch}: it would end after the deadline")
            break
        if epoch == config.warmup_epochs + 1 and epoch > done + 1:
            _set_phase(top, config, epoch)
        began = time.time()
        batches = epoch_batches(pools, config.cell, len(train_cache.maps), config.seed, epoch)
        losses = []
        for index, (batch_rows, batch_views) in enumerate(batches):
            if deadline is not None and time.time() > deadline:
                progress(f"deadline reached during epoch {epoch}; the last checkpoint is epoch {epoch - 1}")
                return rows
            labels = train_cache.labels[batch_rows].astype(np.float32)[:, None]
            losses.append(float(top.train_on_batch(train_cache.batch(batch_rows, batch_views), labels)))
            if (index + 1) % 50 == 0:
                progress(f"  epoch {epoch} batch {index + 1}/{len(batches)} loss {np.mean(losses[-50:]):.4f}")
        train_seconds = time.time() - began
        aucs = evaluate(top, eval_caches)
        row = {"epoch": epoch, "phase": _phase(config, epoch), "seconds": round(train_seconds, 1),
               "eval_seconds": round(time.time() - began - train_seconds, 1), "loss": round(float(np.mean(losses)), 5),
               **{f"auc_{name}": round(value, 4) for name, value in aucs.items()}}
        (run / CHECKPOINTS).mkdir(exist_ok=True)
        top.save(run / CHECKPOINTS / "last.partial.keras")
        (run / CHECKPOINTS / "last.partial.keras").replace(run / CHECKPOINTS / "last.keras")
        chosen = [value for name, value in aucs.items() if SELECTION in name] or list(aucs.values())
        mean_auc = float(np.nanmean(chosen)) if chosen else float("nan")
        if mean_auc > best:
            best = mean_auc
            top.save(run / CHECKPOINTS / "best.keras")
        (run / STATE).write_text(json.dumps({"epoch": epoch, "config": asdict(config), "best_mean_auc": best,
                                             "last": row}, indent=1))
        _append_curve(run, row)
        with open(run / CURVE, newline="") as handle:
            learning_curve(list(csv.DictReader(handle)), run / CURVE_PLOT)
        rows.append(row)
        last_seconds = time.time() - began
        progress("epoch " + " ".join(f"{k}={v}" for k, v in row.items()))
    return rows
