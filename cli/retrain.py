"""`deepfake-guard retrain [--dry-run]` (the worker's scheduled run is feedback/jobs.py's retrain_job)."""
from __future__ import annotations

import click

from cli.publish import require_train_extra
from core.settings import Settings


@click.command()
@click.option("--dry-run", is_flag=True, help="Train and evaluate both models, but neither register nor promote.")
def retrain(dry_run: bool) -> None:
    """Fine-tune the champion on reviewed labels + base data; promote it only if it passes the gate."""
    require_train_extra("retrain")
    from feedback.dataset import RetrainError
    from feedback.retrain import retrain as run_retraining

    try:
        outcome = run_retraining(Settings(), dry_run=dry_run, progress=click.echo)
    except RetrainError as error:
        raise click.ClickException(str(error)) from None
    if outcome.lock_held:
        raise SystemExit(3)   # told apart from a failure (1) by scripts
