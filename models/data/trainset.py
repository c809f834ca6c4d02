"""The training, validation and test sets of one `train` run, from a data folder and/or the synthetic set.

Train and Validation of every source are merged; each source keeps its own test sets, so the
metadata and the model card report every one of them separately:
    "test"                 the data folder's Test split (or its flat split's share)
    "self_blended_test"    one self-blended fake per real photo of that Test split, with the reals
    "synthetic_holdout"    the synthetic set's holdout (its own seed)
With `face_crop`, every image of every set goes through the server's face crop (models.data.prepare).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.data.pipeline import SPLITS, Split, find_splits
from models.data.prepare import SELF_BLENDED_TEST, Preparer

TRAINING_SPLITS = ("Train", "Validation")


@dataclass
class TrainingSet:
    splits: dict[str, Split]          # "Train", "Validation" (merged over sources), "Test" (the data folder's)
    test_sets: dict[str, Split]       # name → test files, in report order
    preparation: dict | None          # what the face crop and self-blend made, for the metadata
    calibration: Split                # where the threshold and band are chosen (see assemble)
    calibration_name: str


def _merge(parts: list[Split]) -> Split:
    merged = Split()
    for part in parts:
        merged.paths += part.paths
        merged.labels += part.labels
        merged.masks += part.masks or [""] * len(part.paths)
        merged.kinds += part.kind_list()
    return merged


def assemble(data_dir: Path | None, synthetic_dir: Path | None, holdout_dir: Path | None, face_crop: bool,
             self_blend_copies: int, seed: int, cache_dir: Path, size: int = 256, training: bool = True) -> TrainingSet:
    """Index (and, with face_crop, prepare) every source.

    Args:
        data_dir: a user's folder (seed layout or flat), or None.
        synthetic_dir / holdout_dir: the synthetic training folder and its holdout, or None.
        face_crop: put every image through the server's face crop.
        self_blend_copies: self-blended fakes per real photo of data_dir's Train and Validation
            (and a self-blended test set from its Test reals); needs face_crop.
        seed: split seed of a flat folder, and the self-blend seed.
        cache_dir: where prepared crops are cached.
        training: also prepare Train and Validation; False (evaluate) prepares only the test sets.
    """
    if self_blend_copies and not (face_crop and data_dir):
        raise ValueError("self-blended fakes are made from a data folder's real photos, with the face crop")
    preparer = Preparer(cache_dir, size, seed) if face_crop else None

    def prepared(splits: dict[str, Split], prefix: str = "", copies: int = 0) -> dict[str, Split]:
        if not training:
            return {name: Split() for name in TRAINING_SPLITS}
        return {name: preparer.split(splits[name], prefix + name, copies) for name in TRAINING_SPLITS}

    sources: list[dict[str, Split]] = []
    test_sets: dict[str, Split] = {}
    own_test = Split()
    if data_dir is not None:
        splits = find_splits(data_dir, seed=seed)
        own_test = splits["Test"]
        if not preparer:
            sources.append(splits)
        else:
            sources.append(prepared(splits, copies=self_blend_copies))
            own_test = preparer.split(splits["Test"], "Test")
            if self_blend_copies and splits["Test"].paths:
                test_sets[SELF_BLENDED_TEST] = preparer.self_blended_test(splits["Test"])
        if own_test.paths:
            test_sets = {"test": own_test, **test_sets}
    if synthetic_dir is not None:
        splits = find_splits(synthetic_dir, seed=seed)
        holdout = find_splits(holdout_dir)["Test"] if holdout_dir else Split()
        if preparer:
            splits = prepared(splits, "synthetic ")
            holdout = preparer.split(holdout, "synthetic holdout")
        sources.append(splits)
        if holdout.paths:
            test_sets["synthetic_holdout"] = holdout
    merged = {name: _merge([source[name] for source in sources]) for name in TRAINING_SPLITS}
    merged["Test"] = own_test
    preparation = None
    if preparer:
        stats = preparer.stats
        preparation = {"face_crop": True, "images": stats.images, "without_face": stats.without_face,
                       "self_blend_copies": self_blend_copies, "self_blended": stats.self_blended,
                       "self_blend_skipped": stats.self_blend_skipped, "self_blend_seed": seed,
                       "per_split": stats.per_split}
    assert set(merged) == set(SPLITS)
    # The threshold and band are chosen on the data folder's validation split when there is one: those
    # are the photos users meet, and a threshold fitted to the synthetic set as well flagged most real
    # faces-gan photos as fake (false positive rate 0.81 at the merged threshold, measured).
    own = sources[0]["Validation"] if data_dir is not None and sources[0]["Validation"].paths else None
    return TrainingSet(splits=merged, test_sets=test_sets, preparation=preparation,
                       calibration=own or merged["Validation"],
                       calibration_name=f"the validation split of {Path(data_dir).name}" if own
                       else "the validation split")
