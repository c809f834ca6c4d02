"""Prometheus metrics: what the benchmark measures, for a running server.

Metric objects are module-level, as prometheus-client expects. Under gunicorn each worker writes
its values to files in PROMETHEUS_MULTIPROC_DIR (set up by server/gunicorn_conf.py under the
instance folder) and `/metrics` merges every worker's files, so one scrape sees the whole server,
whichever worker answers it. Without that variable (tests, `serve --dev`) the values are this
process's own. The review queue depth is read from the store at scrape time, so it needs no
per-worker state at all.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from core.outcomes import reviewer_records_in
from core.reviewers import HELD_BACK, ReviewerBar
from core.store import ReviewItem, Store

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a cache hit (~1 ms) to a large photo under load (~1 s).
BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.075,
           0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
STAGES = ("cache", "provenance", "decode", "faces", "crops", "model", "store")

STAGE_SECONDS = Histogram("dfg_check_stage_seconds", "Time spent in one stage of a check.", ["stage"],
                          buckets=BUCKETS)
REQUEST_SECONDS = Histogram("dfg_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint.",
                            ["method", "endpoint", "status"], buckets=BUCKETS)
CACHE_LOOKUPS = Counter("dfg_result_cache_lookups_total", "Result cache look-ups, by outcome.", ["result"])
CHECKS = Counter("dfg_checks_total", "Checks answered, by verdict and scope.", ["verdict", "scope"])


def observe_stage(stage: str, seconds: float) -> None:
    STAGE_SECONDS.labels(stage=stage).observe(seconds)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Observe the time the block takes as `stage` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        observe_stage(stage, time.perf_counter() - started)


class ReviewQueueCollector:
    """`dfg_review_queue_depth{state}`: review items not yet relabelled, counted in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self):
        gauge = GaugeMetricFamily("dfg_review_queue_depth",
                                  "Review items waiting: queued (not yet in Label Studio) or in_review "
                                  "(relabeled and undecided ones are done).",
                                  labels=["state"])
        with self.store.session() as session:
            rows = dict(session.execute(
                select(ReviewItem.push_state, func.count()).where(ReviewItem.label.is_(None), ReviewItem.undecided.is_(False))
                .group_by(ReviewItem.push_state)).all())
        gauge.add_metric(["queued"], rows.get("pending", 0))
        gauge.add_metric(["in_review"], rows.get("sent", 0))
        yield gauge


class ReviewerCollector:
    """Reviewers measured by gold tasks (core/reviewers.py): `dfg_reviewer_gold_accuracy{reviewer}` for each one with
    a Real or Fake gold answer, `dfg_reviewer_held_back{reviewer}` (1: their labels are kept out of training), and
    `dfg_review_gold_tasks{state}` (held: not yet in the queue; released)."""

    def __init__(self, store: Store, bar: ReviewerBar) -> None:
        self.store, self.bar = store, bar

    def collect(self):
        with self.store.session() as session:
            records = reviewer_records_in(session)
            states = dict(session.execute(select(ReviewItem.push_state, func.count())
                                          .where(ReviewItem.gold_label.is_not(None))
                                          .group_by(ReviewItem.push_state)).all())
        accuracy = GaugeMetricFamily("dfg_reviewer_gold_accuracy",
                                     "Share of a reviewer's Real/Fake answers on gold tasks that were right.",
                                     labels=["reviewer"])
        held_back = GaugeMetricFamily("dfg_reviewer_held_back",
                                      "1 when a reviewer's gold accuracy is under DFG_REVIEW_GOLD_MIN_ACCURACY after "
                                      "DFG_REVIEW_GOLD_MIN_ANSWERS answers: their labels are kept out of training.",
                                      labels=["reviewer"])
        for reviewer, record in sorted(records.items()):
            if record.accuracy is not None:
                accuracy.add_metric([str(reviewer)], record.accuracy)
                held_back.add_metric([str(reviewer)], float(self.bar.status(record) == HELD_BACK))
        tasks = GaugeMetricFamily("dfg_review_gold_tasks", "Gold tasks: held (not yet mixed into the queue) or "
                                  "released.", labels=["state"])
        held = states.pop("held", 0)
        tasks.add_metric(["held"], held)
        tasks.add_metric(["released"], sum(states.values()))
        yield from (accuracy, held_back, tasks)


def exposition(store: Store, bar: ReviewerBar) -> bytes:
    """The text exposition of every metric: all workers' (multiprocess) or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY
        own = generate_latest(REGISTRY)
    queue = CollectorRegistry()
    queue.register(ReviewQueueCollector(store))
    queue.register(ReviewerCollector(store, bar))
    return own + generate_latest(queue)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe_request(response):
    started = g.get("request_started")
    if started is not None:
        REQUEST_SECONDS.labels(method=request.method, endpoint=request.endpoint or "unmatched",
                               status=str(response.status_code)).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Time every request (labelled by endpoint name, never by raw path: bounded label values)."""
    app.before_request(_start_timer)
    app.after_request(_observe_request)
