"""`deepfake-guard retrain [--dry-run]`, and the worker's scheduled retraining job."""
from __future__ import annotations

import logging
import threading

import click

from core.settings import Settings
from models.publish import require_train_extra


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


def retrain_job(settings: Settings):
    """The worker's retraining step: runs only with DFG_RETRAIN_MIN_LABELS new labels since the last run."""
    from feedback.retrain import new_labels
    from feedback.retrain import retrain as run_retraining
    from feedback.sync import open_state

    store, _ = open_state(settings)
    log = logging.getLogger("feedback.worker.retrain")

    def run(stop: threading.Event) -> None:
        arrived = new_labels(store)
        if arrived < max(1, settings.retrain_min_labels):
            log.info("retraining not due: %d new labels since the last run, DFG_RETRAIN_MIN_LABELS is %d",
                     arrived, settings.retrain_min_labels)
            return
        log.info("retraining: %d new labels since the last run", arrived)
        run_retraining(settings, progress=log.info, stop=stop)
    return run
