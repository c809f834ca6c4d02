"""Sync with Label Studio: push queued review items as tasks, pull annotations back.

Reconcile first: an item in review whose task is gone from the project (Label Studio's data wiped,
a new project, a deleted task, another instance) is queued again, so no review work waits on a
task that no longer exists. Push is idempotent per item: every attempt first looks for the item's
task by `ext_id`, so a response lost after Label Studio created a task (a crash, kill -9, a timeout)
never makes a second one; rows are claimed (feedback/outbox.py) so two syncs never push the same
item. An item with answers but no label ("Can't tell", a tie) has its task re-opened for one more
reviewer (Label Studio's per-task overlap). Pull is the source of truth for labels (webhooks are
sent once, with a 1 s timeout, and lost while we are down).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_when_event_set, wait_exponential

from core.blobs import open_blobs
from core.images import ImageStore
from core.outcomes import apply_tasks
from core.resolution import ReviewRule
from core.settings import Settings
from core.store import Check, JobState, ReviewItem, Store
from core.store.tables import utcnow
from feedback import outbox
from feedback.gold import release_gold
from feedback.heatmaps import TaskHeatmaps
from feedback.labelstudio import LabelStudioClient, Task, describe, is_transient
from feedback.tasks import fields_differ, prediction, upload_name, validate_prediction

log = logging.getLogger(__name__)
# The Date header has whole seconds; start the next pull a little earlier than the last one began.
WATERMARK_OVERLAP = timedelta(seconds=2)


class NotConfigured(RuntimeError):
    """Label Studio is not configured, or its project is not set up."""


class LostClaim(RuntimeError):
    """Another sync took the row over (our lease ran out); it is theirs now."""


class PermanentError(RuntimeError):
    """A push that cannot succeed by retrying (e.g. the image bytes are gone)."""


@dataclass
class SyncReport:
    pushed: int = 0          # new tasks created
    updated: int = 0         # task data re-sent
    found: int = 0           # already in Label Studio (an earlier push's answer was lost)
    reopened: int = 0        # tasks re-opened for another reviewer ("Can't tell", a tie)
    failed: int = 0
    requeued: int = 0        # items in review whose task was gone: queued again (and pushed in this run)
    gone_closed: int = 0     # relabeled or undecided items whose task is gone: their outcome is kept here
    pulled: int = 0          # tasks read back
    relabeled: int = 0       # items that got a new resolved label from this pull
    by_webhook: int = 0      # items labeled through the webhook since the last run
    undecided: int = 0       # items closed undecided by this pull
    left: int = 0            # claimed rows given back untried (Label Studio unreachable, or stopping)
    gold: int = 0            # gold tasks released into the queue (feedback/gold.py)
    unreachable: bool = False
    duplicates: dict[str, list[int]] = field(default_factory=dict)

    def summary(self) -> str:
        line = (f"sync: pushed {self.pushed}, updated {self.updated}, failed {self.failed}; pulled {self.pulled} "
                f"tasks; labels: {self.relabeled} pulled now, {self.by_webhook} received by webhook since the last run")
        extras = [f"{self.requeued} re-pushed (their task was gone from Label Studio)" if self.requeued else "",
                  f"{self.gone_closed} reviewed items whose task is gone (their labels are kept here)"
                  if self.gone_closed else "",
                  f"{self.reopened} sent to another reviewer" if self.reopened else "",
                  f"{self.gold} gold tasks mixed in" if self.gold else "",
                  f"{self.undecided} closed undecided" if self.undecided else "",
                  f"{self.found} already in Label Studio" if self.found else "",
                  f"{self.left} left for the next run" if self.left else "",
                  f"{len(self.duplicates)} ext_ids with duplicate tasks (merged)" if self.duplicates else ""]
        return line + "".join(f"; {extra}" for extra in extras if extra)


def open_state(settings: Settings) -> tuple[Store, ImageStore]:
    """The store and image store the server uses, opened outside a Flask app (CLI, worker)."""
    store = Store.for_settings(settings)
    images = ImageStore(open_blobs(settings), settings.image_retention_hours, settings.image_cache_max_mb * 1024 * 1024)
    return store, images


def client_for(settings: Settings) -> LabelStudioClient:
    if not settings.label_studio_configured:
        raise NotConfigured("Label Studio is not configured: set DFG_LABEL_STUDIO_URL and DFG_LABEL_STUDIO_API_KEY "
                            "(see docs/review.md). Disputes keep queueing until then.")
    return LabelStudioClient(settings.label_studio_url, settings.label_studio_api_key,
                             settings.label_studio_timeout_seconds)


class Syncer:
    """One sync run's worth of push and pull against the configured project."""

    def __init__(self, settings: Settings, store: Store, images: ImageStore, client: LabelStudioClient,
                 progress: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
        self.settings, self.store, self.images, self.client = settings, store, images, client
        self.progress = progress or log.info
        self.stop = stop or threading.Event()
        self.context = outbox.FieldContext.for_settings(settings)
        self.heatmaps = TaskHeatmaps(settings, outbox.model_folders(settings))

    def project(self) -> object:
        project = self.client.find_project(self.settings.label_studio_project)
        if project is None:
            raise NotConfigured(f"Label Studio at {self.client.url} has no project titled "
                                f"'{self.settings.label_studio_project}': run `deepfake-guard labelstudio setup`.")
        return project

    def run(self, full_pull: bool = False) -> SyncReport:
        """Reconcile, push, pull, push what the pull changed (each retried on connection errors and 5xx);
        the pull is skipped when Label Studio stopped answering during the push."""
        report = SyncReport()
        started = utcnow()
        project = self._retrying()(self.project)
        image_store = self._retrying()(self.client.ensure_image_store, project.title)
        self._retrying()(self.reconcile, project.id, report)
        report.gold = release_gold(self.store, self.settings.review_gold_rate)
        self.push(project, image_store.id, report)
        if not self.stop.is_set() and not report.unreachable:
            self._retrying()(self.pull, project.id, report, full=full_pull)
            self._count_webhook_labels(report, started)
            # Answers just pulled may ask for another reviewer: re-open those tasks now, not a run later.
            self.push(project, image_store.id, report)
        return report

    # Reconcile -------------------------------------------------------------------------------------

    def reconcile(self, project_id: int, report: SyncReport) -> None:
        """Queue again every item in review whose task is not in the project any more."""
        listed_at = utcnow()
        present = self.client.ext_ids(project_id)
        with self.store.session() as session:
            sent = session.scalars(select(ReviewItem).where(
                ReviewItem.push_state == "sent", ReviewItem.sent_at < listed_at,
                or_(ReviewItem.claimed_until.is_(None), ReviewItem.claimed_until < listed_at)))
            for item in sent:
                if item.ext_id in present:
                    continue
                if item.label or item.undecided:
                    if item.ls_task_id is not None:     # counted once: the task id is forgotten
                        report.gone_closed += 1
                        item.ls_task_id = None
                    continue
                item.push_state, item.ls_task_id, item.data_stale = "pending", None, False
                report.requeued += 1
                self.progress(f"  check {item.check_id} ({item.ext_id[:16]}…): its task is gone from "
                              f"Label Studio; queued again")

    def _count_webhook_labels(self, report: SyncReport, started) -> None:
        """Labels that arrived by webhook between the last run's end and this run's start."""
        name = "sync_last_run"
        since = read_state(self.store, name)
        if since is not None:
            with self.store.session() as session:
                report.by_webhook = session.scalar(select(func.count()).select_from(ReviewItem).where(
                    ReviewItem.resolved_at >= since, ReviewItem.resolved_at < started)) or 0
        write_state(self.store, name, utcnow())

    # Push ------------------------------------------------------------------------------------------

    def _retrying(self) -> Retrying:
        return Retrying(retry=retry_if_exception(is_transient), reraise=True,
                        stop=stop_after_attempt(self.settings.sync_retry_attempts) | stop_when_event_set(self.stop),
                        wait=wait_exponential(multiplier=1, min=1, max=10), sleep=self.stop.wait,
                        before_sleep=lambda state: log.warning("Label Studio call failed (%s); retrying",
                                                               describe(state.outcome.exception())))

    def push(self, project: object, image_store_id: int, report: SyncReport) -> None:
        """Push every claimable item, a batch at a time; stop early when Label Studio is unreachable."""
        settings = self.settings
        newest_version: str | None = None
        while not self.stop.is_set():
            token = outbox.new_claim_token()
            ids = outbox.claim(self.store, token, settings.sync_batch_size, settings.sync_lease_seconds)
            round_failed = False
            for index, item_id in enumerate(ids):
                if self.stop.is_set():
                    outbox.release(self.store, ids[index:], token)
                    report.left += len(ids) - index
                    break
                try:
                    outcome, check_id, ext_id, task_id, version = self._retrying()(
                        self._push_one, project.id, image_store_id, item_id, token)
                except LostClaim:
                    continue
                except Exception as error:  # recorded on the row; the next run retries it
                    outbox.mark_failed(self.store, item_id, token, describe(error))
                    report.failed += 1
                    round_failed = True
                    self.progress(f"  failed item {item_id}: {describe(error)}")
                    if is_transient(error):
                        report.unreachable = True
                        outbox.release(self.store, ids[index + 1:], token)
                        report.left += len(ids) - index - 1
                        self.progress(f"  Label Studio at {self.client.url} is unreachable; "
                                      "the rest stays queued for the next run")
                        return
                    continue
                setattr(report, outcome, getattr(report, outcome) + 1)
                newest_version = version if outcome == "pushed" else newest_version
                self.progress(f"  {outcome} check {check_id} ({ext_id[:16]}…) → task {task_id}")
            if round_failed or len(ids) < settings.sync_batch_size:
                break
        if newest_version and getattr(project, "model_version", None) != newest_version:
            self._retrying()(self.client.set_project_model_version, project.id, newest_version)

    def _push_one(self, project_id: int, image_store_id: int, item_id: int,
                  token: str) -> tuple[str, str, str, int, str]:
        """One idempotent attempt: find the item's task by ext_id, else create it; then mark it sent.

        Returns:
            (outcome: pushed / found / updated / reopened, check id, ext_id, task id, model version)
        """
        if not outbox.renew(self.store, item_id, token, self.settings.sync_lease_seconds):
            raise LostClaim(item_id)
        with self.store.session() as session:
            item = session.get(ReviewItem, item_id)
            check = session.get(Check, item.check_id)
            fields = outbox.current_fields(session, item, self.context)
            ext_id, known_task_id, sha256, image_format = item.ext_id, item.ls_task_id, item.image_sha256, check.format
            result, score = prediction(check.fake_probability, check.faces or [], check.width, check.height)
            version, check_id, face_count = check.model_version, check.id, len(check.faces or [])
            progress = outbox.review_progress(item, self.context)
        validate_prediction(result)

        task = self._find_task(project_id, ext_id, known_task_id)
        if task is None:
            data = self.images.read(sha256)
            if data is None:
                raise PermanentError(f"the image {sha256} is missing from images/kept in {self.images.blobs.describe()}")
            filename, content_type = upload_name(ext_id, image_format)
            image_url = self.client.upload_image(image_store_id, data, filename, content_type)
            # made once, with the task (every update keeps it: updates merge into the task data)
            heatmap = self.heatmaps.make(data, version, face_count)
            heatmap_url = None
            if heatmap.picture:
                heatmap_url = self.client.upload_image(image_store_id, heatmap.picture,
                                                       *upload_name(f"{ext_id}-heatmap", "jpeg"))
            task_id = self.client.create_task(project_id, {"image": image_url, **fields,
                                                           "heatmaps": heatmap.html(heatmap_url)})
            outcome, has_prediction = "pushed", False
        else:
            task_id, has_prediction = task.id, version in task.prediction_versions
            outcome = "found"
            # One more reviewer than have answered on this task, when the item has reviews left.
            overlap = max(task.overlap, task.reviewers + 1) if progress.wants_another else None
            if overlap == task.overlap and task.reviewers < overlap:
                overlap = None    # already open for another reviewer
            if overlap is not None or fields_differ(task.data, fields):
                self.client.update_task(task, fields, overlap)
                outcome = "reopened" if overlap is not None else "updated"
        if not has_prediction:
            self.client.add_prediction(task_id, result, score, version)
        if not outbox.mark_sent(self.store, item_id, token, task_id, fields, self.context):
            raise LostClaim(item_id)
        return outcome, check_id, ext_id, task_id, version

    def _find_task(self, project_id: int, ext_id: str, known_task_id: int | None) -> Task | None:
        # Task ids are reused by Label Studio after deletes: trust an id only if its data has our ext_id.
        if known_task_id is not None:
            task = self.client.get_task(known_task_id)
            if task is not None and task.ext_id == ext_id:
                return task
        tasks = self.client.find_tasks(project_id, ext_id)
        if len(tasks) > 1:
            log.warning("Label Studio holds %d tasks for %s: %s", len(tasks), ext_id, [t.id for t in tasks])
        return min(tasks, key=lambda t: t.id) if tasks else None

    # Pull ------------------------------------------------------------------------------------------

    def pull(self, project_id: int, report: SyncReport, full: bool = False) -> None:
        """Read tasks changed since the last pull (all when `full`) and store the resolved labels."""
        name = f"pull_watermark:{project_id}"
        since = None if full else read_state(self.store, name)
        started = self.client.server_time() - WATERMARK_OVERLAP
        grouped: dict[str, dict[int, list[dict]]] = {}
        tasks_read = 0
        for task in self.client.tasks_changed_since(project_id, since):
            tasks_read += 1
            if task.ext_id:
                grouped.setdefault(task.ext_id, {})[task.id] = task.annotations
        report.pulled += tasks_read
        rule = ReviewRule.of(self.settings)
        with self.store.session() as session:
            for ext_id, tasks in grouped.items():
                if len(tasks) > 1:
                    report.duplicates[ext_id] = sorted(tasks)
                    self.progress(f"  {ext_id[:16]}… has {len(tasks)} tasks {sorted(tasks)}: annotations merged")
                before = session.scalars(select(ReviewItem.undecided).where(ReviewItem.ext_id == ext_id)).first()
                item, relabeled = apply_tasks(session, ext_id, tasks, rule)
                if relabeled:
                    report.relabeled += 1
                    self.progress(f"  relabeled check {item.check_id} ({ext_id[:16]}…) as {item.label} "
                                  f"({item.reviewer_count} reviewers)")
                elif item is not None and item.undecided and not before:
                    report.undecided += 1
                    self.progress(f"  closed check {item.check_id} ({ext_id[:16]}…) undecided after "
                                  f"{item.reviewer_count} answers without a majority")
        write_state(self.store, name, started)


def read_state(store: Store, name: str) -> datetime | None:
    with store.session() as session:
        row = session.get(JobState, name)
        return datetime.fromisoformat(row.value) if row else None


def write_state(store: Store, name: str, value: datetime) -> None:
    with store.session() as session:
        row = session.get(JobState, name)
        if row is None:
            session.add(JobState(name=name, value=value.isoformat()))
        else:
            row.value = value.isoformat()
