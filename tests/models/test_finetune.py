"""Fine-tuning faceres's top on cached trunk maps (models/training/finetune.py, models/data/finetune_data.py): batches balanced
over source × label with pairs together, a checkpoint per epoch, and a resumed run that continues from the last
checkpoint as if it had never stopped. Tiny generated faces and a tiny faceres-like TF.js graph."""
from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.data.finetune_data import Pools, epoch_batches, gan_examples, swap_examples
from models.training.trunk_cache import SELF_BLEND
from tests.models.tfjs_files import TINY_CUT, TINY_SIZE, write_faceres_like

FACES = 8


def _write(path: Path, pixels: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95)
    return path.name


def make_folders(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """A GAN-face folder and a face-swap folder with pairs.csv, in the seed's layout, FACES faces per class."""
    rng = np.random.default_rng(seed)
    gan, swap = root / "gan", root / "swap"
    for split in ("Train", "Validation"):
        for index in range(FACES):
            real = rng.integers(60, 200, (TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)
            _write(gan / split / "Real" / f"r{index}.jpg", real)
            _write(gan / split / "Fake" / f"f{index}.jpg", np.clip(real.astype(int) + rng.integers(-40, 40, real.shape),
                                                                   0, 255).astype(np.uint8))
        rows = []
        for index in range(FACES):
            real = rng.integers(0, 256, (TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)
            fake = real.copy()
            fake[8:24, 8:24] = 255 - fake[8:24, 8:24]
            rows.append((f"Real/{_write(swap / split / 'Real' / f's{index}.jpg', real)}",
                         f"Fake/{_write(swap / split / 'Fake' / f't{index}.jpg', fake)}"))
        with open(swap / split / "pairs.csv", "w", newline="") as handle:
            csv.writer(handle).writerows([("real", "fake"), *rows])
    return gan, swap


def stand_in_blender(path: str, copy: int) -> np.ndarray:
    """A self-blend stand-in for faces without landmarks: the centre brightened (copy decides by how much)."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    pixels[10:22, 10:22] += 30 + 10 * copy
    return np.clip(pixels, 0, 255).astype(np.uint8)


def test_batches_balance_source_and_label_and_keep_pairs_with_their_view(tmp_path):
    gan, swap = make_folders(tmp_path)
    examples = gan_examples(gan, "Train", self_blends=True) + swap_examples(swap, "Train", self_blends=True)
    pools = Pools.of(examples, np.ones(len(examples), bool), "gan", "swap")
    assert pools.sizes() == {"gan_blend_pairs": FACES, "gan_reals": FACES, "gan_fakes": FACES, "swap_pairs": FACES,
                             "swap_blend_pairs": FACES}
    batches = epoch_batches(pools, cell=4, views=3, seed=1, epoch=1)
    assert len(batches) == FACES // 2
    for rows, views in batches:
        cells = {}
        for row in rows:
            key = (examples[row].source, examples[row].label)
            cells[key] = cells.get(key, 0) + 1
        assert cells == {("gan", 0): 4, ("gan", 1): 4, ("swap", 0): 4, ("swap", 1): 4}
        where = {}
        for row, view in zip(rows, views):
            where.setdefault(row, set()).add(int(view))
        for row, view in zip(rows, views):
            example = examples[row]
            if example.kind in ("swap", SELF_BLEND):   # its own real is in the batch, in the same view
                real = next(i for i, e in enumerate(examples)
                            if e.kind == "real" and e.source == example.source and e.path == example.key)
                assert int(view) in where.get(real, set()), f"{example} without its real in view {view}"
    again = epoch_batches(pools, cell=4, views=3, seed=1, epoch=1)
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(batches, again))
    assert any((a[0] != b[0]).any() for a, b in zip(batches, epoch_batches(pools, cell=4, views=3, seed=1, epoch=2)))


def test_on_served_crops_every_file_is_its_crop_and_pairs_stay_together(tmp_path):
    from models.data.finetune_data import as_served
    from models.data.prepare import Preparer

    gan, swap = make_folders(tmp_path)
    examples = gan_examples(gan, "Train", self_blends=True) + swap_examples(swap, "Train", self_blends=True)
    preparer = Preparer(tmp_path / "prepared", TINY_SIZE)
    served = as_served(examples, preparer)
    for before, after in zip(examples, served):
        if before.kind == SELF_BLEND:       # blended whole, then cropped (trunk_cache.served_crop_blender)
            assert after.path == before.path
        else:
            assert after.path == preparer.crop(before.path)[0] and Path(after.path).parent == preparer.root
        assert after.key == preparer.crop(before.key)[0]
    before_pools = Pools.of(examples, np.ones(len(examples), bool), "gan", "swap")
    after_pools = Pools.of(served, np.ones(len(served), bool), "gan", "swap")
    assert after_pools.sizes() == before_pools.sizes()
    for name in ("swap_pairs", "swap_blend_pairs", "gan_blend_pairs"):
        np.testing.assert_array_equal(getattr(after_pools, name), getattr(before_pools, name))


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    """(faceres-like blocks, training cache, evaluation caches) on generated faces."""
    from models.training.faceres_keras import make_trunk, read_blocks
    from models.training.trunk_cache import TrunkCache, build

    root = tmp_path_factory.mktemp("finetune")
    gan, swap = make_folders(root)
    blocks = read_blocks(write_faceres_like(root / "tfjs"))
    trunk = make_trunk(blocks, TINY_CUT, TINY_SIZE)
    quiet = lambda message: None  # noqa: E731
    train_examples = gan_examples(gan, "Train", self_blends=True) + swap_examples(swap, "Train", self_blends=True)
    build(root / "train", train_examples, 2, trunk, TINY_SIZE, 7, stand_in_blender, batch=16, progress=quiet)
    build(root / "gan-Validation", gan_examples(gan, "Validation", False), 1, trunk, TINY_SIZE, 7, progress=quiet)
    build(root / "swap-Validation", swap_examples(swap, "Validation", False), 1, trunk, TINY_SIZE, 7, progress=quiet)
    return (blocks, TrunkCache.open(root / "train"),
            {name: TrunkCache.open(root / name) for name in ("gan-Validation", "swap-Validation")}, trunk.output_shape[1:])


def _config(epochs: int):
    from models.training.finetune import FinetuneConfig

    return FinetuneConfig(cut=TINY_CUT, epochs=epochs, warmup_epochs=1, head_lr=1e-2, lr=1e-3, cell=4, dropout=0.0,
                          seed=3, gan_source="gan", swap_source="swap")


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.weights]


@pytest.mark.slow
def test_a_resumed_run_continues_from_its_last_checkpoint(tiny_setup, tmp_path):
    from models.training.finetune import CURVE, CURVE_PLOT, start, train

    blocks, cache, evaluation, shape = tiny_setup
    quiet = lambda message: None  # noqa: E731
    top, config, done = start(tmp_path / "straight", blocks, _config(3), shape, resume=False)
    straight = train(tmp_path / "straight", top, config, done, cache, evaluation, progress=quiet)
    straight_weights = _weights(top)

    top, config, done = start(tmp_path / "stopped", blocks, _config(2), shape, resume=False)
    first = train(tmp_path / "stopped", top, config, done, cache, evaluation, progress=quiet)
    with pytest.raises(SystemExit, match="--resume"):
        start(tmp_path / "stopped", blocks, _config(3), shape, resume=False)
    top, config, done = start(tmp_path / "stopped", blocks, _config(3), shape, resume=True)
    assert done == 2 and config.epochs == 3
    rest = train(tmp_path / "stopped", top, config, done, cache, evaluation, progress=quiet)

    assert [row["epoch"] for row in first + rest] == [row["epoch"] for row in straight] == [1, 2, 3]
    assert [row["phase"] for row in straight] == ["head", "blocks+head", "blocks+head"]
    with open(tmp_path / "stopped" / CURVE, newline="") as handle:
        assert [int(row["epoch"]) for row in csv.DictReader(handle)] == [1, 2, 3]
    assert (tmp_path / "stopped" / CURVE_PLOT).stat().st_size > 0
    # the same weights as the run that never stopped: the checkpoint carried the model and Adam's state
    for resumed, kept in zip(_weights(top), straight_weights):
        np.testing.assert_allclose(resumed, kept, atol=1e-5)
    assert rest[0]["loss"] == pytest.approx(straight[2]["loss"], abs=1e-4)
    assert any(not np.allclose(a, b) for a, b in zip(straight_weights, _weights(start(tmp_path / "fresh", blocks, _config(1),
                                                                                       shape, False)[0]))), \
        "training should have changed the weights"


@pytest.mark.slow
def test_a_run_stops_at_its_deadline_without_a_new_checkpoint(tiny_setup, tmp_path):
    from models.training.finetune import CHECKPOINTS, start, train

    blocks, cache, evaluation, shape = tiny_setup
    top, config, done = start(tmp_path / "late", blocks, _config(2), shape, resume=False)
    assert train(tmp_path / "late", top, config, done, cache, evaluation, deadline=time.time() - 1,
                 progress=lambda message: None) == []
    assert not (tmp_path / "late" / CHECKPOINTS).exists()
