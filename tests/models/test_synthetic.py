"""The synthetic demo data: seeded, laid out as the trainer expects, and its label not given away by the format."""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from models.data import manipulations, synthetic

COUNTS = {"Train": 3, "Validation": 2, "Test": 2}
SEED = 11


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _digests(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.jpg"))}


def _jpeg_header(data: bytes) -> bytes:
    """Everything before the entropy-coded scan: markers, quantization and Huffman tables, frame header."""
    return data[:data.index(b"\xff\xda")]


@pytest.fixture(scope="module")
def photos():
    return synthetic.sample_photos()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    return out, synthetic.write_dataset(out, COUNTS, seed=SEED, progress=False, workers=1)


def test_photos_come_from_installed_packages(photos):
    names = [name for name, _ in photos]
    assert {"astronaut", "grace_hopper", "china", "camera"} <= set(names)
    for _, image in photos:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert not image.flags.writeable  # shared cache: nobody may edit it in place


def test_layout_and_counts(dataset):
    out, summary = dataset
    for split, count in COUNTS.items():
        for label in ("Real", "Fake"):
            files = sorted((out / split / label).iterdir())
            assert [f.name for f in files] == [f"{i:05d}.jpg" for i in range(count)]
            with Image.open(files[0]) as image:
                assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (256, 256))
    assert summary["counts"] == {split: {"Real": n, "Fake": n} for split, n in COUNTS.items()}
    assert summary["seed"] == SEED
    fakes = sum(COUNTS.values())
    assert fakes <= sum(summary["manipulations"].values()) <= 2 * fakes
    assert sum(summary["combinations"].values()) == fakes


def test_same_seed_gives_identical_bytes_whatever_the_worker_count(dataset, tmp_path):
    out, _ = dataset
    synthetic.write_dataset(tmp_path, COUNTS, seed=SEED, progress=False, workers=2)
    assert _digests(tmp_path) == _digests(out)


def test_another_seed_gives_other_images(dataset, tmp_path):
    out, _ = dataset
    synthetic.write_dataset(tmp_path, {"Train": COUNTS["Train"]}, seed=SEED + 1, progress=False, workers=1)
    ours, theirs = _digests(out), _digests(tmp_path)
    assert set(theirs) <= set(ours)
    assert all(theirs[name] != ours[name] for name in theirs)
    assert not np.array_equal(synthetic.make_real(_rng(1), synthetic.sample_photos()),
                              synthetic.make_real(_rng(2), synthetic.sample_photos()))


def test_splits_and_classes_are_different_draws(dataset):
    out, _ = dataset
    digests = list(_digests(out).values())
    assert len(set(digests)) == len(digests)


def test_refuses_to_mix_with_an_earlier_dataset(dataset):
    out, _ = dataset
    with pytest.raises(FileExistsError, match="already holds images"):
        synthetic.write_dataset(out, COUNTS, seed=SEED, progress=False, workers=1)


def test_real_and_fake_get_the_same_jpeg_encoding(dataset):
    # The settings are drawn from a label-blind stream: image i of Real and of Fake share quality and
    # subsampling, so the two classes' encodings match exactly, not just in distribution. With
    # optimize=False everything before the scan data (quantization and Huffman tables, subsampling,
    # metadata) depends on those settings alone.
    out, _ = dataset
    headers = set()
    for split, count in COUNTS.items():
        for i in range(count):
            real = (out / split / "Real" / f"{i:05d}.jpg").read_bytes()
            fake = (out / split / "Fake" / f"{i:05d}.jpg").read_bytes()
            assert _jpeg_header(real) == _jpeg_header(fake)
            with Image.open(io.BytesIO(real)) as a, Image.open(io.BytesIO(fake)) as b:
                assert a.quantization == b.quantization and a.info.keys() == b.info.keys()
            headers.add(_jpeg_header(real))
    assert len(headers) > 1  # the quality really varies, so matching headers is not a coincidence


def test_encoder_is_label_blind(photos):
    real, fake, _ = synthetic.make_pair(_rng(4), photos)
    real_bytes, real_quality = synthetic.encode_jpeg(real, _rng(9))
    fake_bytes, fake_quality = synthetic.encode_jpeg(fake, _rng(9))
    assert real_quality == fake_quality
    assert _jpeg_header(real_bytes) == _jpeg_header(fake_bytes)
    qualities = {synthetic.encode_jpeg(real, _rng(seed))[1] for seed in range(40)}
    assert min(qualities) >= synthetic.JPEG_QUALITY[0] and max(qualities) <= synthetic.JPEG_QUALITY[1]
    assert len(qualities) > 10


def test_fake_differs_from_its_source_within_the_manipulated_region(photos):
    rng = _rng(3)
    for _ in range(40):
        real, fake, how = synthetic.make_pair(rng, photos)
        assert real.shape == fake.shape == (256, 256, 3) and fake.dtype == np.uint8
        change = np.abs(fake.astype(np.int16) - real).mean(axis=2)
        changed = change > 0
        assert change[changed].mean() >= 2.0, how  # visible, not a rounding-level difference
        if "_full" not in how:  # a local edit leaves much of the image untouched
            assert changed.mean() < 0.8, how
        if np.array_equal(real[..., 0], real[..., 2]):
            assert np.array_equal(fake[..., 0], fake[..., 2]), f"{how} put colour into a greyscale photo"


def test_make_fake_and_make_pair_agree(photos):
    fake, how = synthetic.make_fake(_rng(8), photos)
    _, paired_fake, paired_how = synthetic.make_pair(_rng(8), photos)
    assert how == paired_how and np.array_equal(fake, paired_fake)
    assert np.array_equal(synthetic.make_real(_rng(8), photos), synthetic.make_pair(_rng(8), photos)[0])


def test_face_swap_changes_the_face_box_only(photos):
    rng = _rng(21)
    image = synthetic.make_real(rng, photos)
    x, y, w, h = 70, 60, 110, 130
    donor = np.asarray(Image.fromarray(image).rotate(180))  # anything that is not the same face
    swapped, mask = manipulations.face_swap(rng, image, (x, y, w, h), donor, synthetic.FACE_MARGIN)
    change = np.abs(swapped.astype(np.int16) - image).mean(axis=2)
    assert change[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].mean() > 5
    outside = np.ones(change.shape, bool)
    outside[max(y - 12, 0):y + h + 12, max(x - 12, 0):x + w + 12] = False
    assert change[outside].max() == 0 and mask[outside].max() == 0


def test_each_fake_has_a_mask_of_where_it_was_changed(dataset):
    out, _ = dataset
    for split, count in COUNTS.items():
        masks = sorted((out / split / synthetic.MASKS).iterdir())
        assert [m.name for m in masks] == [f"{i:05d}.png" for i in range(count)]
        for mask_file in masks:
            with Image.open(mask_file) as mask:
                assert mask.mode == "L" and mask.size == (256, 256)
                assert np.asarray(mask).max() > 127  # some pixels were surely changed


def test_mask_covers_the_change(photos):
    rng = _rng(5)
    for _ in range(20):
        base = synthetic._make_base(rng, photos, 256)
        fake, changed, how = synthetic._manipulate(rng, base, photos, 256)
        difference = np.abs(fake.astype(np.int16) - base.image).max(axis=2)
        assert difference[changed == 0].max(initial=0) == 0, how  # nothing changed outside the mask
        assert (changed > 0).any()
