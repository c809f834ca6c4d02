"""Training time per epoch of each architecture on this machine (prints figures; not a test).

    .venv/bin/python scripts/epoch_times.py [--images 256] [--epochs 2] [--arch small_cnn ...]

Trains each architecture from scratch on the same synthetic images (half real, half fake, 256²,
the `web` augmentation and the map head, as `deepfake-guard train` does) and reports the seconds of
the last epoch (the first also decodes and caches the files) and the time per image.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import ARCHITECTURES  # noqa: E402

DATA_SEED = 99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256, help="training images (half real, half fake)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--arch", nargs="*", default=list(ARCHITECTURES))
    args = parser.parse_args()

    import keras

    from models.data.pipeline import find_splits
    from models.data.synthetic_sets import CACHE_DIR, synthetic_data
    from models.training.train import fit

    per_class = args.images // 2
    data = synthetic_data(DATA_SEED, {"Train": per_class, "Validation": 16}, CACHE_DIR)
    splits = find_splits(data)
    print(f"{'architecture':<18} {'params':>10} {'epoch s':>9} {'ms/image':>9}  ({args.images} images, "
          f"batch {args.batch_size}, {os.cpu_count()} cores)", flush=True)
    for arch in args.arch:
        times: list[float] = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.started)  # noqa: B023 (fit runs before `times` is rebound)

        result = fit(splits["Train"], splits["Validation"], arch=arch, epochs=args.epochs, batch_size=args.batch_size,
                     augment="web", patience=args.epochs + 1, callbacks=[Timer()])
        last = times[-1]
        print(f"{arch:<18} {result.model.count_params():>10,} {last:>9.1f} {1000 * last / args.images:>9.1f}",
              flush=True)


if __name__ == "__main__":
    main()
