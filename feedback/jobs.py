"""The worker's jobs (feedback/worker.py runs them on their schedules): the Label Studio sync and retraining.

Each is made once from the settings and called with the worker's stop event on every run.
"""
from __future__ import annotations

import logging
import threading

from core.settings import Settings
from feedback.labelstudio import LabelStudioClient, describe


def sync_job(settings: Settings):
    """The worker's sync step: one run per call; errors are logged and the schedule goes on."""
    from feedback.sync import Syncer, open_state

    store, images = open_state(settings)
    log = logging.getLogger("feedback.worker.sync")

    def run(stop: threading.Event) -> None:
        client = LabelStudioClient(settings.label_studio_url, settings.label_studio_api_key,
                                   settings.label_studio_timeout_seconds)
        try:
            report = Syncer(settings, store, images, client, progress=log.info, stop=stop).run()
            log.info("%s", report.summary())
        except Exception as error:
            log.warning("sync failed: %s", describe(error))
        finally:
            client.close()
    return run


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
