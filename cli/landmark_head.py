"""`deepfake-guard add-landmark-head`: a trained model plus a landmark head, as a new model version."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from cli.publish import model_output_options, publish, split_seed, start_model_command
from models.data.synthetic_sets import CACHE_DIR, SYNTHETIC_SEED, synthetic_data, synthetic_holdout
from models.evaluation.report import fmt

HEAD_SUFFIX = " + landmark head"   # a model that had a head gets this one instead (its CNN alone is refitted)


def _synthetic_counts(metadata: dict) -> dict | None:
    """The synthetic set's counts the model was trained with (its Validation split picks the offset)."""
    for source in (metadata.get("training_data") or {}).get("sources") or []:
        if source.get("kind") == "synthetic":
            return source.get("counts_per_class")
    return None


@click.command("add-landmark-head")
@click.option("--model", "model_spec", help="A registry version or a model folder (default: what the server serves).")
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The head learns DIR's Train photos, Real against Fake (a face in each).")
@click.option("--self-blend", is_flag=True, help="Also weigh self-blended fakes of DIR when choosing the offset, "
                                                  "and report on them (as the model was trained).")
@click.option("--synthetic", is_flag=True, help="Also learn the synthetic set's Train reals as real photos, weigh "
                                                "its validation split when choosing the offset, and report on its "
                                                "holdout.")
@model_output_options("Version of the new model (default: the model's version + '-head').")
def add_landmark_head(model_spec, data_dir, self_blend, synthetic, out, version, promote) -> None:
    """Fit a landmark head on DIR for a trained model, and save both as a new version, calibrated and evaluated."""
    start_model_command("add-landmark-head", out, promote)
    from core.landmark_head import LandmarkFinder
    from core.registry import resolve_model
    from core.served_model import DataRule, Scorer, ServedModel
    from core.shared_models import open_registry
    from models.data.trainset import assemble
    from models.training.architectures import load_keras
    from models.training.bundle import copy_history, write_model_folder
    from models.training.landmark_head import fit_head, head_set, joined

    folder = resolve_model(model_spec, registry=open_registry())
    classifier = ServedModel(folder)
    info, metadata = classifier.info, classifier.info.metadata
    face_crop = bool((metadata.get("data_rule") or {}).get("face_crop"))
    if self_blend and not face_crop:
        raise click.UsageError("--self-blend needs a model trained on face crops")
    seed = split_seed(metadata.get("training_data") or {})
    preparation = (metadata.get("training_data") or {}).get("preparation") or {}
    copies = int(preparation.get("self_blend_copies") or 1) if self_blend else 0
    synthetic_dir = holdout_dir = None
    if synthetic:
        counts = _synthetic_counts(metadata) or {"Train": 1500, "Validation": 300}
        synthetic_dir, holdout_dir = synthetic_data(SYNTHETIC_SEED, counts, CACHE_DIR, click.echo), synthetic_holdout()

    click.echo("preparing data" + (" (face crops as served)" if face_crop else ""))
    own = assemble(data_dir, None, None, face_crop, 0, seed, CACHE_DIR.parent)           # DIR's photos alone
    full = assemble(data_dir, synthetic_dir, holdout_dir, face_crop, copies, seed, CACHE_DIR.parent)
    finder = LandmarkFinder(num_threads=2)
    # the new model: this network, its re-encode, and the canonical orientation (which every new model has)
    network = Scorer(classifier.runtime, DataRule(info.input_size, info.rule.reencode_quality, True))

    def scored(name, split):
        click.echo(f"landmarks of {name}: {split.balance()}")
        return head_set(name, split, network, finder)

    validation = [scored(f"{Path(data_dir).name} validation", own.splits["Validation"])]
    if self_blend:
        blended = full.calibration   # DIR's validation photos with their self-blended fakes
        keep = [label == 0 or kind == "self_blend" for label, kind in zip(blended.labels, blended.kind_list())]
        validation.append(scored("self-blended validation", _subset(blended, keep)))
    train = scored(f"{Path(data_dir).name} train", own.splits["Train"])
    if synthetic:
        synthetic_only = assemble(None, synthetic_dir, None, face_crop, 0, seed, CACHE_DIR.parent)
        validation.append(scored("synthetic validation", synthetic_only.splits["Validation"]))
        # its real photos are photos too: the head learns not to call their faces GAN-made
        photos = synthetic_only.splits["Train"]
        train = joined(train, scored("synthetic train reals", _subset(photos, [label == 0 for label in photos.labels])))
    try:
        weights, record = fit_head(train, validation)
    except ValueError as error:
        raise click.ClickException(str(error))
    for name, auc in record["validation_auc"]["with_head"].items():   # None: a set with one class only
        click.echo(f"{name}: ROC AUC {fmt(record['validation_auc']['cnn_alone'][name])} (CNN alone) → {fmt(auc)} "
                   f"(with the head, offset {weights.offset:+.1f})")

    version = version or f"{info.version}-head"
    command = "deepfake-guard " + shlex.join(sys.argv[1:])
    description = {key: metadata[key] for key in ("architecture", "training_data", "training") if key in metadata}
    description.update({
        "architecture": f"{str(metadata.get('architecture')).removesuffix(HEAD_SUFFIX)}{HEAD_SUFFIX}",
        "parent_version": info.version,
        "rebuild_command": "\n".join(filter(None, [metadata.get("rebuild_command"),
                                                   f"# then, with {info.version} in {folder}:", command])),
        "landmark_head": {**record, "data": str(data_dir)},
    })
    history_file = folder / "history.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else None
    model = load_keras(folder / "model.keras")

    def build(target: Path) -> dict:
        written = write_model_folder(target, model, full.calibration, full.test_sets, description, version,
                                     history=history, reencode_quality=network.rule.reencode_quality,
                                     face_crop=face_crop, validation_name=full.calibration_name, head=weights,
                                     canonical=network.rule.canonical_orientation)
        copy_history(folder, target)
        return written

    publish(build, out, version, promote, "add-landmark-head")


def _subset(split, keep: list[bool]):
    from models.data.pipeline import Split

    part = Split()
    for path, label, mask, kind, wanted in zip(split.paths, split.labels, split.masks or [""] * len(split.paths),
                                               split.kind_list(), keep):
        if wanted:
            part.add_prepared(path, label, mask, kind)
    return part
