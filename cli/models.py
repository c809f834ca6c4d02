"""`deepfake-guard models list | show V | promote V | rollback | import PATH`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from core.registry import Registry, RegistryError
from core.shared_models import open_registry


def instance_registry() -> Registry:
    return open_registry()


def _auc(metadata: dict) -> str:
    for report in (metadata.get("metrics") or {}).values():
        if report and report.get("roc_auc") is not None:
            return f"{report['roc_auc']:.3f}"
    return "n/a"


@click.group("models")
def models_group() -> None:
    """The model registry: versions under <instance>/models and the champion the server serves."""


@models_group.command("list")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(0),
              help="How many of the latest retraining decisions to show.")
def list_versions(runs: int) -> None:
    """Every registered version, oldest first (* marks the champion), then the latest retraining decisions."""
    registry = instance_registry()
    champion = registry.champion()
    versions = registry.versions()
    if not versions:
        click.echo(f"no versions in {registry.root}; the server serves the shipped default model")
    else:
        click.echo(f"{'':2}{'version':<40} {'created':<26} {'architecture':<22} {'test AUC':>8}  {'gate':<9} parent")
        for metadata in versions:
            mark = "* " if metadata.get("version") == champion else "  "
            gate = (metadata.get("retraining") or {}).get("decision", "")
            click.echo(f"{mark}{metadata.get('version', '?'):<40} {metadata.get('created_at', '?'):<26} "
                       f"{str(metadata.get('architecture', '?'))[:22]:<22} {_auc(metadata):>8}  {gate:<9} "
                       f"{metadata.get('parent_version') or ''}")
        if champion is None:
            click.echo("no champion promoted: the server serves the shipped default model")
    decisions = registry.retraining()[-runs:] if runs else []
    if decisions:
        click.echo("\nretraining decisions (newest last):")
        for record in decisions:
            click.echo(f"  {record['at']}  {record['decision']:<9} {_retraining_summary(record)}")
            click.echo(f"  {'':<25}  {'':<9} {record['reason']}")


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _retraining_summary(record: dict) -> str:
    """One line: the challenger, the labels used and both models' gate metrics."""
    metrics, data = record.get("metrics"), (record.get("data") or {}).get("feedback") or {}
    if not metrics:
        return f"champion {record.get('champion') or '-'}"
    old, new = metrics["champion"], metrics["challenger"]
    return (f"{record.get('challenger') or '(not registered)'} vs {old['version']}: "
            f"{data.get('labels', 0)} labels ({data.get('train_images', 0)} train, {data.get('holdout_images', 0)} held out); "
            f"base AUC {_number(old['base_holdout']['roc_auc'])}→{_number(new['base_holdout']['roc_auc'])}, "
            f"feedback log loss {_number(old['feedback_holdout']['log_loss'])}→"
            f"{_number(new['feedback_holdout']['log_loss'])}; {record.get('seconds', '?')} s")


@models_group.command("show")
@click.argument("version")
def show(version: str) -> None:
    """A version's metadata (JSON), with whether its files still match their hashes."""
    registry = instance_registry()
    try:
        metadata = registry.metadata(version)
        registry.verify(version)
        status = "files match their hashes"
    except RegistryError as error:
        if not (registry.root / version / "metadata.json").is_file():
            raise click.ClickException(str(error))
        status = f"BROKEN: {error}"
    click.echo(json.dumps(metadata, indent=2))
    click.echo(f"{version}: {status}; champion: {'yes' if registry.champion() == version else 'no'}")


@models_group.command("promote")
@click.argument("version")
@click.option("--note", default="", help="Why (kept in the promotion history).")
def promote(version: str, note: str) -> None:
    """Make VERSION the champion; running servers switch to it without a restart."""
    try:
        pointer = instance_registry().promote(version, note)
    except RegistryError as error:
        raise click.ClickException(str(error))
    click.echo(f"champion: {pointer['version']} (previous: {(pointer['previous'] or ['shipped default'])[-1]})")


@models_group.command("rollback")
@click.option("--note", default="", help="Why (kept in the promotion history).")
def rollback(note: str) -> None:
    """Make the previous champion the champion again."""
    try:
        pointer = instance_registry().rollback(note)
    except RegistryError as error:
        raise click.ClickException(str(error))
    click.echo(f"champion: {pointer['version']}")


@models_group.command("history")
def history() -> None:
    """Every promotion and rollback, oldest first."""
    for event in instance_registry().history():
        click.echo(f"{event['at']}  {event['action']:<8} {event['version']:<40} replaced {event.get('replaced') or '-'}"
                   f"{'  # ' + event['note'] if event.get('note') else ''}")


@models_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Keras-2 HDF5 weights for a JSON architecture (PATH.json).")
@click.option("--version", help="Version name (default: imported-<file name>).")
@click.option("--output-is", type=click.Choice(["real", "fake"]), default="real", show_default=True,
              help="What the model outputs: the seed's models output P(real) (Fake=0, Real=1) and are flipped.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Calibrate the threshold and band on DIR's Validation split and measure on its Test split.")
@click.option("--promote", "promote_now", is_flag=True, help="Make it the champion.")
def import_model(path: Path, weights: Path | None, version: str | None, output_is: str, data_dir: Path | None,
                 promote_now: bool) -> None:
    """Import a Keras-2 JSON + H5 weights, a Keras-2 full .h5 or a .keras model and register it."""
    from cli.publish import require_train_extra

    require_train_extra("models import")
    from models import quiet_tensorflow

    quiet_tensorflow()
    from models.data.pipeline import find_splits
    from models.training.bundle import write_model_folder
    from models.training.importer import as_fake_probability, load_any

    try:
        loaded, source_format, changes = load_any(path, weights)
        model = as_fake_probability(loaded, output_is)
    except (ValueError, TypeError, KeyError, OSError) as error:
        raise click.ClickException(f"cannot import {path}: {error}")
    version = version or f"imported-{path.stem}"
    splits = find_splits(data_dir) if data_dir else None
    description = {
        "architecture": f"imported {loaded.name}",
        "imported": {"source": str(path), "weights": str(weights) if weights else None, "format": source_format,
                     "output_flipped": output_is == "real", "conversions": changes},
        "training_data": {"kind": "unknown (imported model)"},
    }
    if output_is == "real":
        description["output_note"] = "imported output P(real) flipped to P(fake) = 1 − P(real)"
    registry = instance_registry()
    try:
        with registry.staging(version) as staging:
            metadata = write_model_folder(
                staging, model, splits["Validation"] if splits else None,
                {"test": splits["Test"]} if splits else {}, description, version,
                calibration=None if splits and splits["Validation"].paths else (0.5, (0.5, 0.5)),
                canonical=False)   # served as it was built: the same outputs as where it came from
    except RegistryError as error:
        raise click.ClickException(str(error))
    click.echo(f"registered {version} ({source_format}{'; output flipped to P(fake)' if output_is == 'real' else ''}); "
               f"ONNX parity {metadata['parity_max_abs_diff']:.1e}")
    for note in changes:
        click.echo(f"  fixed: {note}")
    if promote_now:
        registry.promote(version, note=f"imported from {path}")
        click.echo(f"{version} is now the champion")
