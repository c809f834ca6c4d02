"""Writing a model version (to a folder, or into the registry) and printing its figures: shared by the commands."""
from __future__ import annotations

from pathlib import Path

import click

from models import TRAIN_EXTRA_INSTALL, missing_train_packages, quiet_tensorflow


def require_train_extra(command: str) -> None:
    """Stop a command that needs the `train` extra with one line saying what to install."""
    missing = missing_train_packages()
    if missing:
        raise click.ClickException(f"`deepfake-guard {command}` needs the train extra, which is not installed "
                                   f"(missing: {', '.join(missing)}). Install it with: {TRAIN_EXTRA_INSTALL}")


def model_output_options(version_help: str, version_required: bool = False):
    """--out, --version and --promote: where a command that builds a model writes it."""
    def decorate(command):
        command = click.option("--promote", is_flag=True, help="Make the new version the champion (registry only).")(command)
        command = click.option("--version", required=version_required, help=version_help)(command)
        return click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                            help="Write a plain model folder here instead of registering a version.")(command)
    return decorate


def start_model_command(command: str, out: Path | None, promote: bool) -> None:
    """The checks every command that writes a model makes first: the train extra is installed, TensorFlow's
    start-up chatter is off, and --promote (a registry version's) is not given with --out."""
    require_train_extra(command)
    quiet_tensorflow()
    if out and promote:
        raise click.UsageError("--promote works on registry versions; drop --out")


def print_report(name: str, report: dict) -> None:
    auc = report["roc_auc"]
    click.echo(f"{name:>22}: n={report['n']:<5} accuracy={report['accuracy']:.3f} precision={report['precision']:.3f} "
               f"recall={report['recall']:.3f} f1={report['f1']:.3f} roc_auc={'n/a' if auc is None else f'{auc:.3f}'}")
    if report.get("band_coverage") is not None:
        inside, outside = report["accuracy_inside_band"], report["accuracy_outside_band"]
        click.echo(f"{'':>22}  uncertain band covers {report['band_coverage']:.1%}; accuracy inside "
                   f"{'n/a' if inside is None else f'{inside:.3f}'}, outside {'n/a' if outside is None else f'{outside:.3f}'}")
    for row in report.get("by_kind") or []:
        click.echo(f"{'':>22}  {row['kind']:>28}: {row['fakes']:>4} fakes, roc_auc={row['roc_auc']:.3f} "
                   f"recall={row['recall']:.3f}")


def print_robustness(rows: list[dict] | None) -> None:
    for row in rows or []:
        drop = row["auc_drop"]
        click.echo(f"{row['condition']:>22}: roc_auc={row['roc_auc']:.3f} auc_drop={drop:+.3f} "
                   f"accuracy={row['accuracy']:.3f} false_positive_rate={row['false_positive_rate']:.3f}")


def publish(build, out: Path | None, version: str, promote: bool, command: str) -> dict:
    """Write a model with `build(folder)` to --out, or as a registry version (the champion with
    --promote), then print its threshold, band and figures. Returns its metadata."""
    from core.shared_models import open_registry

    try:
        if out:
            metadata = build(Path(out))
        else:
            registry = open_registry()
            with registry.staging(version) as staging:
                metadata = build(staging)
    except ValueError as error:   # e.g. a validation split with one class: no threshold can be chosen
        raise click.ClickException(str(error))
    if out:
        click.echo(f"wrote {out} (version {version}); serve it with DFG_MODEL_DIR={out}")
    else:
        click.echo(f"registered {version} in {registry.root}")
        if promote:
            registry.promote(version, note=f"deepfake-guard {command} --promote")
            click.echo(f"{version} is now the champion")
        else:
            click.echo(f"serve it with: deepfake-guard models promote {version}")
    click.echo(f"threshold {metadata['threshold']:.3f}, uncertain band {metadata['uncertain_band']}")
    for name, report in metadata["metrics"].items():
        print_report(name, report)
    print_robustness((metadata.get("robustness") or {}).get("rows"))
    return metadata


def split_seed(training_data: dict) -> int:
    """The split seed of the data folder a model was trained on (for a flat folder's Test share)."""
    for source in [training_data, *training_data.get("sources", [])]:
        if source.get("kind") == "folder":
            return int(source.get("split_seed", 1337))
    return 1337
