"""Model commands: `train` and `evaluate` (TensorFlow is imported only when they run)."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from cli.publish import (
    model_output_options,
    print_report,
    print_robustness,
    publish,
    require_train_extra,
    split_seed,
    start_model_command,
)
from models import ARCHITECTURES
from models.data.pipeline import REENCODE_QUALITY
from models.data.synthetic_sets import (
    CACHE_DIR,
    SYNTHETIC_HOLDOUT_COUNTS,
    SYNTHETIC_HOLDOUT_SEED,
    SYNTHETIC_SEED,
    SYNTHETIC_TRAIN_COUNT,
    SYNTHETIC_VALIDATION_COUNT,
    synthetic_data,
    synthetic_holdout,
)

DATA_README_LIMIT = 4000  # characters of a data folder's README.md kept in the metadata and card
SELF_BLEND_COPIES = 2     # self-blended fakes per real photo: with the real fakes, fakes outnumber reals


def _init_model(init: str | None) -> tuple[Path | None, str | None]:
    """--init as a .keras file, a model folder or a registry version → (keras file, parent version)."""
    if not init:
        return None, None
    from core.registry import resolve_model
    from core.shared_models import open_registry

    path = Path(init)
    if path.is_file():
        return path, None
    folder = resolve_model(init, registry=open_registry())
    return folder / "model.keras", json.loads((folder / "metadata.json").read_text()).get("version")


@click.command()
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Training data in the seed's layout DIR/{Train,Validation,Test}/{Real,Fake} or DIR/{Real,Fake}.")
@click.option("--synthetic", is_flag=True, help="Train on the project's synthetic manipulations (the demo model).")
@click.option("--synthetic-count", default=SYNTHETIC_TRAIN_COUNT, show_default=True, type=click.IntRange(10),
              help="Synthetic training images per class.")
@click.option("--arch", default="small_cnn", show_default=True, type=click.Choice(ARCHITECTURES))
@click.option("--epochs", default=20, show_default=True, type=int)
@click.option("--batch-size", default=32, show_default=True, type=int)
@click.option("--patience", default=5, show_default=True, type=int, help="Epochs without validation AUC gain before stopping.")
@click.option("--learning-rate", type=float, help="Peak learning rate (default 1e-3, or 1e-4 with --init).")
@click.option("--map-weight", default=1.0, show_default=True, type=float,
              help="Weight of the where-was-it-changed loss (0: image labels only).")
@click.option("--init", help="Fine-tune this model: a .keras file, a model folder or a registry version.")
@click.option("--weights", type=click.Path(exists=True, path_type=Path), help="Local backbone weights (efficientnetv2b0).")
@click.option("--augment", default="web", show_default=True, type=click.Choice(["none", "flip", "seed", "web"]))
@click.option("--reencode-quality", type=click.IntRange(0, 100),
              help=f"Format-shortcut rule: JPEG quality every image is re-encoded at (default {REENCODE_QUALITY} "
                   "with --data, off with --synthetic; 0 = off).")
@click.option("--face-crop/--no-face-crop", default=None,
              help="Put every image through the server's face detector and crop first, as it is served "
                   "(default: on with --data, off with --synthetic alone).")
@click.option("--self-blend", is_flag=True,
              help="Add self-blended fakes (face-swap-like) made from --data's real photos; a folder of real "
                   "photos alone then trains a face-swap detector.")
@click.option("--self-blend-copies", default=SELF_BLEND_COPIES, show_default=True, type=click.IntRange(1, 16),
              help="Self-blended fakes per real photo (each with its own random blend).")
@click.option("--seed", default=1337, show_default=True, type=int)
@model_output_options("Model version (default: timestamp and architecture).")
def train(data_dir, synthetic, synthetic_count, arch, epochs, batch_size, patience, learning_rate, map_weight, init,
          weights, augment, reencode_quality, face_crop, self_blend, self_blend_copies, seed, out, version,
          promote) -> None:
    """Train a model and register it as a version (Keras, ONNX, calibrated metadata, plots, card)."""
    start_model_command("train", out, promote)
    from models.data.trainset import assemble
    from models.training.bundle import copy_history, new_version, write_model_folder
    from models.training.train import fit

    if not data_dir and not synthetic:
        raise click.UsageError("give --data DIR, --synthetic, or both")
    if face_crop is None:
        face_crop = bool(data_dir)
    if self_blend and not (data_dir and face_crop):
        raise click.UsageError("--self-blend makes fakes from --data's real photos and needs the face crop "
                               "(drop --no-face-crop)")
    if reencode_quality is None:
        reencode_quality = REENCODE_QUALITY if data_dir else 0
    init_path, parent = _init_model(init)
    sources, synthetic_dir, holdout_dir = [], None, None
    if synthetic:
        counts = {"Train": synthetic_count, "Validation": SYNTHETIC_VALIDATION_COUNT}
        synthetic_dir, holdout_dir = synthetic_data(SYNTHETIC_SEED, counts, CACHE_DIR, click.echo), synthetic_holdout()
        sources.append({"kind": "synthetic", "generator": "models.data.synthetic", "seed": SYNTHETIC_SEED,
                        "counts_per_class": counts, "holdout_seed": SYNTHETIC_HOLDOUT_SEED,
                        "holdout_counts_per_class": SYNTHETIC_HOLDOUT_COUNTS})
    if data_dir:
        sources.insert(0, {"kind": "folder", "path": str(data_dir), "split_seed": seed})
        readme = Path(data_dir) / "README.md"
        if readme.is_file():   # the data's origin and terms, quoted in the model card
            sources[0]["origin"] = readme.read_text(errors="replace")[:DATA_README_LIMIT]
    click.echo("preparing data" + (" (face crops as served" + (", self-blended fakes" if self_blend else "") + ")"
                                   if face_crop else ""))
    data = assemble(data_dir, synthetic_dir, holdout_dir, face_crop, self_blend_copies if self_blend else 0, seed,
                    CACHE_DIR.parent)
    splits, test_sets = data.splits, data.test_sets
    data_description = sources[0] if len(sources) == 1 else {"kind": "combined", "sources": sources}
    if data.preparation:
        data_description = {**data_description, "preparation": data.preparation}
    for name, split in splits.items():
        click.echo(f"{name}: {split.balance()}")
    version = version or new_version(arch)
    checkpoints = CACHE_DIR.parent / "checkpoints" / version  # kept outside the model folder
    result = fit(splits["Train"], splits["Validation"], arch=arch, epochs=epochs, init=init_path,
                 checkpoint_dir=checkpoints, seed=seed, batch_size=batch_size, augment=augment, weights=weights,
                 patience=patience, learning_rate=learning_rate, map_weight=map_weight,
                 reencode_quality=reencode_quality or None)
    if result.class_weights:
        click.echo(f"unbalanced classes: weighted the loss real {result.class_weights[0]:.3f}, "
                   f"fake {result.class_weights[1]:.3f}")
    description = {
        "architecture": arch if not init else f"{arch} fine-tuned from {init}",
        "parent_version": parent,
        "rebuild_command": "deepfake-guard " + shlex.join(sys.argv[1:]),
        "training_data": data_description,
        "training": {"epochs_run": result.epochs_run, "max_epochs": epochs, "seconds": round(result.seconds, 1),
                     "seconds_per_epoch": round(result.seconds_per_epoch, 1), "batch_size": batch_size,
                     "augment": augment, "seed": seed, "init": str(init) if init else None, "map_weight": map_weight,
                     "balance": {name: split.balance() for name, split in splits.items()},
                     "class_weights": {"real": result.class_weights[0], "fake": result.class_weights[1]}
                     if result.class_weights else None},
    }

    def build(folder: Path) -> dict:
        metadata = write_model_folder(folder, result.model, data.calibration, test_sets, description, version,
                                      history=result.history, reencode_quality=reencode_quality or None,
                                      face_crop=face_crop, validation_name=data.calibration_name)
        copy_history(checkpoints, folder)
        return metadata

    publish(build, out, version, promote, "train")


def _drop(rows: list[dict] | None, condition: str) -> float | None:
    return next((row.get("auc_drop") for row in rows or [] if row["condition"] == condition), None)


def _comparison_lines(results: dict[str, dict[str, object]]) -> list[str]:
    """Test sets × models: ROC AUC, accuracy, precision, recall, band coverage, AUC drop under JPEG q60 + 0.5× and
    under a mirror image."""
    versions = list(results)
    sets = list(dict.fromkeys(name for by_set in results.values() for name in by_set))
    head = f"{'test set':>22} {'figure':>26} " + " ".join(f"{v[:24]:>24}" for v in versions)
    lines = [head, "-" * len(head)]
    figures = (("ROC AUC", lambda r, rows: r["roc_auc"]), ("accuracy", lambda r, rows: r["accuracy"]),
               ("precision", lambda r, rows: r["precision"]), ("recall", lambda r, rows: r["recall"]),
               ("false alarms (reals->fake)", lambda r, rows: r.get("false_alarm_rate")),
               ("catch rate (fakes->fake)", lambda r, rows: r.get("catch_rate")),
               ("uncertain share", lambda r, rows: r.get("band_coverage")),
               ("AUC drop JPEG q60+0.5x", lambda r, rows: _drop(rows, "jpeg_q60+resize_0.5x")),
               ("AUC drop mirrored", lambda r, rows: _drop(rows, "mirror")))
    for name in sets:
        for label, figure in figures:
            cells = []
            for version in versions:
                evaluation = results[version].get(name)
                value = figure(evaluation.report, evaluation.robustness) if evaluation else None
                cells.append(f"{'n/a' if value is None else f'{value:.3f}':>24}")
            lines.append(f"{name:>22} {label:>26} " + " ".join(cells))
    return lines


@click.command()
@click.option("--model", "model_specs", multiple=True,
              help="A registry version or a model folder (default: what the server serves). Repeat it to compare "
                   "models side by side on the same images.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Evaluate on DIR's Test split (or its flat {Real,Fake} split).")
@click.option("--self-blend", is_flag=True,
              help="Also evaluate on self-blended fakes made from --data's Test real photos (with those reals).")
@click.option("--synthetic", is_flag=True, help="Also evaluate on the synthetic holdout (the default without --data).")
@click.option("--face-crop/--no-face-crop", default=None,
              help="Put test images through the server's face crop (default: as the first model was trained).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where the report and plots go (default: <instance>/evaluations/<version>/<test set>; with "
                   "several models or sets: OUT/<version>/<test set>).")
@click.option("--json", "as_json", is_flag=True, help="Print the full results as JSON.")
def evaluate(model_specs, data_dir, self_blend, synthetic, face_crop, out, as_json) -> None:
    """All metrics, the robustness table, plots and a Markdown report for a model on held-out data."""
    require_train_extra("evaluate")
    from core.registry import resolve_model
    from core.served_model import ServedModel
    from core.settings import Settings
    from core.shared_models import open_registry
    from models.data.pipeline import find_splits
    from models.data.trainset import assemble
    from models.evaluation.evaluate import evaluate_split, write_evaluation

    if self_blend and not data_dir:
        raise click.UsageError("--self-blend makes its test fakes from --data's real photos; give --data DIR")
    registry = open_registry()
    folders = [resolve_model(spec, registry=registry) for spec in (model_specs or [None])]
    classifiers = [ServedModel(folder) for folder in folders]
    first = classifiers[0].info.metadata
    if face_crop is None:
        face_crop = bool((first.get("data_rule") or {}).get("face_crop"))
    if self_blend and not face_crop:
        raise click.UsageError("--self-blend needs the face crop (drop --no-face-crop)")
    seed = split_seed(first.get("training_data") or {})
    holdout = synthetic_holdout() if synthetic or not data_dir else None
    if data_dir and not find_splits(data_dir, seed=seed)["Test"].paths:
        raise click.UsageError(f"{data_dir} has no test images ({data_dir}/Test/{{Real,Fake}} or a flat {{Real,Fake}})")
    by_size: dict[int, dict] = {}

    def test_sets(size: int) -> dict:
        """The test sets cut as served for a model of this input size (the face crop is cut at it)."""
        if size not in by_size:
            # the holdout folder has only a Test split, so it adds nothing but its test set
            sets = assemble(data_dir, holdout, holdout, face_crop, 1 if self_blend else 0, seed, CACHE_DIR.parent,
                            size=size, training=False).test_sets
            if data_dir and "test" in sets:
                sets = {f"test of {Path(data_dir).name}": sets.pop("test"), **sets}
            by_size[size] = sets
        return by_size[size]

    several = len(classifiers) > 1 or len(test_sets(classifiers[0].info.input_size)) > 1
    results: dict[str, dict] = {}
    for folder, classifier in zip(folders, classifiers):
        info = classifier.info
        sets = test_sets(info.input_size)
        history_file = folder / "history.json"
        history = json.loads(history_file.read_text()) if history_file.exists() else None
        results[info.version] = {}
        for name, test in sets.items():
            evaluation = evaluate_split(classifier, test, name, info.threshold, info.uncertain_band)
            results[info.version][name] = evaluation
            slug = name.replace("test of ", "").replace(" ", "_")
            target = (out / info.version / slug if several else out) if out else \
                Settings().instance_path() / "evaluations" / info.version / slug
            written = write_evaluation(target, evaluation, info.metadata, history,
                                       f"{name} ({'face crops as served' if face_crop else 'images as they are'})")
            if as_json:
                click.echo((target / written["results"]).read_text())
                continue
            click.echo(f"model {info.version} ({folder}) on {name}: classes {test.balance()}")
            print_report(name, evaluation.report)
            print_robustness(evaluation.robustness)
            click.echo(f"report: {target / written['report']} (plots in {target / 'plots'})")
    if several and not as_json:
        click.echo(f"\nside by side ({'face crops as served' if face_crop else 'images as they are'}; "
                   "each model at its own threshold and band):")
        for line in _comparison_lines(results):
            click.echo(line)
