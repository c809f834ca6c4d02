"""The background worker: the scheduled jobs of feedback/jobs.py (the sync, retraining) in one process.

APScheduler runs the jobs in threads; a job never overlaps itself (`max_instances=1`) and missed
runs are coalesced into one. SIGTERM/SIGINT set a stop event that jobs watch, then the worker
waits for the running job to finish its current item and exits.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)

Job = Callable[[threading.Event], None]   # a job gets the stop event and should return soon once it is set


class Worker:
    """Add jobs with triggers (IntervalTrigger, CronTrigger, ...), then `run()` until signalled."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self.job_names: list[str] = []

    def add_job(self, name: str, job: Job, trigger: BaseTrigger, run_at_start: bool = False) -> None:
        # Passing next_run_time=None would add the job paused: leave it out unless running at start.
        when = {"next_run_time": datetime.now(UTC)} if run_at_start else {}
        self.scheduler.add_job(self._guarded, trigger, args=(name, job), id=name, name=name, **when)
        self.job_names.append(name)

    def _guarded(self, name: str, job: Job) -> None:
        # An exception in one run must not end the schedule: log it and wait for the next run.
        if self.stop.is_set():
            return
        try:
            job(self.stop)
        except Exception:
            log.exception("job %s failed", name)

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("received %s: stopping after the current step", signal.Signals(signum).name)
        self.stop.set()

    def run(self) -> None:
        """Start the scheduler and block until SIGTERM/SIGINT, then stop gracefully."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.scheduler.start()
        log.info("worker running jobs: %s", ", ".join(self.job_names) or "none")
        while not self.stop.wait(1.0):
            pass
        self.scheduler.shutdown(wait=True)
        log.info("worker stopped")
