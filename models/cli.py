"""Model commands: `train` and `evaluate` (TensorFlow is imported only when they run)."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import click

from . import ARCHITECTURES

# The synthetic demo data: counts per class; the holdout is generated with another seed.
SYNTHETIC_COUNTS = {"Train": 3000, "Validation": 300}
SYNTHETIC_HOLDOUT_COUNTS = {"Test": 500}
SYNTHETIC_SEED = 20261126
SYNTHETIC_HOLDOUT_SEED = SYNTHETIC_SEED + 1
CACHE_DIR = Path(".cache") / "synthetic"


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def synthetic_data(seed: int, counts: dict[str, int], cache_dir: Path) -> Path:
    """Generate (or reuse) a synthetic data folder for `seed` and `counts`."""
    from .synthetic import write_dataset

    folder = cache_dir / ("seed{}-".format(seed) + "-".join(f"{k[0]}{v}" for k, v in counts.items()))
    if not (folder / "summary.json").exists():  # written last by write_dataset: the folder is complete
        click.echo(f"generating synthetic data (seed {seed}) in {folder}")
        shutil.rmtree(folder, ignore_errors=True)
        write_dataset(folder, counts, seed=seed)
    return folder


def _print_report(name: str, report: dict) -> None:
    auc = report["roc_auc"]
    click.echo(f"{name:>22}: n={report['n']:<5} accuracy={report['accuracy']:.3f} precision={report['precision']:.3f} "
               f"recall={report['recall']:.3f} f1={report['f1']:.3f} roc_auc={'n/a' if auc is None else f'{auc:.3f}'}")
    if report.get("band_coverage") is not None:
        inside, outside = report["accuracy_inside_band"], report["accuracy_outside_band"]
        click.echo(f"{'':>22}  uncertain band covers {report['band_coverage']:.1%}; accuracy inside "
                   f"{'n/a' if inside is None else f'{inside:.3f}'}, outside {'n/a' if outside is None else f'{outside:.3f}'}")


@click.command()
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Training data in the seed's layout DIR/{Train,Validation,Test}/{Real,Fake} or DIR/{Real,Fake}.")
@click.option("--synthetic", is_flag=True, help="Train on the project's synthetic manipulations (the demo model).")
@click.option("--arch", default="small_cnn", show_default=True, type=click.Choice(ARCHITECTURES))
@click.option("--epochs", default=20, show_default=True, type=int)
@click.option("--batch-size", default=32, show_default=True, type=int)
@click.option("--init", type=click.Path(exists=True, path_type=Path), help="Fine-tune this .keras model.")
@click.option("--weights", type=click.Path(exists=True, path_type=Path), help="Local backbone weights (efficientnetv2b0).")
@click.option("--augment", default="web", show_default=True, type=click.Choice(["none", "flip", "seed", "web"]))
@click.option("--seed", default=1337, show_default=True, type=int)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Model folder to write.")
@click.option("--version", help="Model version (default: timestamp and architecture).")
def train(data_dir, synthetic, arch, epochs, batch_size, init, weights, augment, seed, out, version) -> None:
    """Train a model and write a servable folder (Keras, ONNX, calibrated metadata, card)."""
    _quiet_tensorflow()
    from .bundle import copy_history, write_model_folder
    from .card import write_card
    from .data import find_splits
    from .train import fit

    if bool(data_dir) == bool(synthetic):
        raise click.UsageError("give exactly one of --data DIR or --synthetic")
    if synthetic:
        data_dir = synthetic_data(SYNTHETIC_SEED, SYNTHETIC_COUNTS, CACHE_DIR)
        holdout = find_splits(synthetic_data(SYNTHETIC_HOLDOUT_SEED, SYNTHETIC_HOLDOUT_COUNTS, CACHE_DIR))["Test"]
        test_sets = {"synthetic_holdout": holdout}
        data_description = {"training_data": {
            "kind": "synthetic", "generator": "models.synthetic", "seed": SYNTHETIC_SEED,
            "counts_per_class": SYNTHETIC_COUNTS, "holdout_seed": SYNTHETIC_HOLDOUT_SEED,
            "holdout_counts_per_class": SYNTHETIC_HOLDOUT_COUNTS}}
    splits = find_splits(data_dir, seed=seed)
    if not synthetic:
        test_sets = {"test": splits["Test"]} if splits["Test"].paths else {}
        data_description = {"training_data": {"kind": "folder", "path": str(data_dir)}}
    for name, split in splits.items():
        click.echo(f"{name}: {split.balance()}")
    checkpoints = CACHE_DIR.parent / "checkpoints" / Path(out).name  # kept outside the model folder
    result = fit(splits["Train"], splits["Validation"], arch=arch, epochs=epochs, init=init,
                 checkpoint_dir=checkpoints, seed=seed, batch_size=batch_size, augment=augment, weights=weights)
    description = {
        "architecture": arch if not init else f"fine-tuned from {init}",
        "rebuild_command": "deepfake-guard " + shlex.join(sys.argv[1:]),
        **data_description,
        "training": {"epochs_run": result.epochs_run, "max_epochs": epochs, "seconds": round(result.seconds, 1),
                     "seconds_per_epoch": round(result.seconds_per_epoch, 1), "batch_size": batch_size,
                     "augment": augment, "seed": seed, "init": str(init) if init else None,
                     "balance": {name: split.balance() for name, split in splits.items()}},
    }
    metadata = write_model_folder(out, result.model, splits["Validation"], test_sets, description, version)
    copy_history(checkpoints, Path(out))
    write_card(Path(out), metadata)
    click.echo(f"wrote {out} (version {metadata['version']}, threshold {metadata['threshold']:.3f}, "
               f"uncertain band {metadata['uncertain_band']})")
    for name, report in metadata["metrics"].items():
        _print_report(name, report)


@click.command()
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Model folder (default: the shipped default model).")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Evaluate on DIR's Test split (or its flat {Real,Fake} split).")
@click.option("--synthetic", is_flag=True, help="Evaluate on the synthetic holdout (its own seed).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def evaluate(model_dir, data_dir, synthetic, as_json) -> None:
    """Accuracy, precision, recall and ROC AUC of a model on held-out data."""
    import numpy as np

    from server.detector.classifier import Classifier

    from . import DEFAULT_MODEL_DIR
    from .bundle import score_split
    from .data import find_splits
    from .metrics import classification_report

    if not data_dir and not synthetic:
        synthetic = True
    classifier = Classifier(model_dir or DEFAULT_MODEL_DIR)
    test = find_splits(synthetic_data(SYNTHETIC_HOLDOUT_SEED, SYNTHETIC_HOLDOUT_COUNTS, CACHE_DIR)
                       if synthetic else data_dir)["Test"]
    scores = score_split(classifier.runtime, test, classifier.info.input_size)
    report = classification_report(np.asarray(test.labels), scores, classifier.info.threshold,
                                   classifier.info.uncertain_band)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"model {classifier.version} on {'the synthetic holdout' if synthetic else data_dir}")
    _print_report("synthetic_holdout" if synthetic else "test", report)


def register(group: click.Group) -> None:
    group.add_command(train)
    group.add_command(evaluate)
