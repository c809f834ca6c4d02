"""Review-loop commands: `labelstudio setup`, `sync` (once), `worker` (on a schedule), and `review` (gold tasks and
reviewers)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import click
import httpx
from label_studio_sdk.core.api_error import ApiError

from core.settings import Settings
from feedback.labelstudio import WEBHOOK_PATH, LabelStudioClient, describe, is_transient
from feedback.tasks import LABEL_CONFIG
from models import TRAIN_EXTRA_INSTALL, missing_train_packages


def _settings() -> Settings:
    return Settings()


def _client_or_exit(settings: Settings) -> LabelStudioClient:
    from feedback.sync import NotConfigured, client_for

    try:
        return client_for(settings)
    except NotConfigured as error:
        raise click.ClickException(str(error)) from None


def _failure(client: LabelStudioClient, error: Exception, consequence: str) -> click.ClickException:
    """A one-paragraph error for a failed Label Studio call, with what to check."""
    status = getattr(error, "status_code", None)
    if is_transient(error) and status is None:
        return click.ClickException(f"Label Studio at {client.url} is unreachable ({describe(error)}); {consequence}. "
                                    "Is it running? (scripts/labelstudio.sh status)")
    hint = " Check DFG_LABEL_STUDIO_API_KEY (the token of a Label Studio user)." if status in (401, 403) else ""
    return click.ClickException(f"Label Studio at {client.url}: {describe(error)}; {consequence}.{hint}")


@click.group("labelstudio")
def labelstudio() -> None:
    """The Label Studio project reviewers work in."""


@labelstudio.command()
@click.option("--public-url", help="This server's URL as Label Studio reaches it (default: DFG_PUBLIC_URL).")
@click.option("--update-config", is_flag=True,
              help="Replace a found project's labeling config with Deepfake Guard's current one.")
def setup(public_url: str | None, update_config: bool) -> None:
    """Create (or find) the project, its image store and review tab, and register the annotation webhook."""
    settings = _settings()
    client = _client_or_exit(settings)
    try:
        project, created = client.ensure_project(settings.label_studio_project)
        image_store = client.ensure_image_store(project.title)
        client.ensure_review_view(project.id)
        differs = not created and (project.label_config or "").split() != LABEL_CONFIG.split()
        if differs and update_config:
            client.update_label_config(project.id)
    except (ApiError, httpx.HTTPError) as error:
        raise _failure(client, error, "setup stopped there; run it again") from None
    click.echo(f"project {project.id} '{project.title}' ({'created' if created else 'found'}): "
               f"{client.project_url(project.id)}")
    click.echo(f"  images in project {image_store.id} '{image_store.title}'; data manager tab 'Review'")
    if differs and update_config:
        click.echo("  labeling config updated to Deepfake Guard's current one")
    elif differs:
        click.echo("  note: the project's labeling config differs from Deepfake Guard's; it was left as it is "
                   "(labels are read from the 'label' choices: Real / Fake / Can't tell). "
                   "`labelstudio setup --update-config` replaces it.", err=True)
    public_url = (public_url or settings.public_url or "").rstrip("/")
    secret = settings.label_studio_webhook_secret
    if not public_url or not secret:
        missing = " and ".join(name for name, value in (("DFG_PUBLIC_URL", public_url),
                                                         ("DFG_LABEL_STUDIO_WEBHOOK_SECRET", secret)) if not value)
        click.echo(f"webhook not registered: set {missing} to get labels the moment reviewers save them; "
                   "until then `deepfake-guard sync` / `worker` pull them.")
        return
    hook = client.ensure_webhook(project.id, public_url + WEBHOOK_PATH, secret)
    click.echo(f"webhook {hook.id}: {hook.url} ({', '.join(hook.actions or [])})")


@click.command()
@click.option("--full", is_flag=True, help="Pull every task, not only those changed since the last pull.")
def sync(full: bool) -> None:
    """Push queued review items to Label Studio and pull reviewed labels back, once."""
    from feedback.outbox import pending_count
    from feedback.sync import NotConfigured, Syncer, open_state

    settings = _settings()
    store, images = open_state(settings)
    queued = pending_count(store)
    if not settings.label_studio_configured:
        raise click.ClickException(f"Label Studio is not configured (DFG_LABEL_STUDIO_URL, DFG_LABEL_STUDIO_API_KEY): "
                                   f"nothing synced; {queued} review items stay queued.")
    client = _client_or_exit(settings)
    click.echo(f"sync with {client.url}, project '{settings.label_studio_project}': {queued} items to push")
    started = time.monotonic()
    try:
        report = Syncer(settings, store, images, client, progress=click.echo).run(full_pull=full)
    except NotConfigured as error:
        raise click.ClickException(str(error)) from None
    except (ApiError, httpx.HTTPError) as error:
        raise _failure(client, error, f"{queued} items stay queued") from None
    click.echo(f"{report.summary()} ({time.monotonic() - started:.1f} s)")
    if report.failed:
        raise SystemExit(1)


@click.command()
def worker() -> None:
    """Run scheduled jobs until SIGTERM/SIGINT: sync every DFG_SYNC_INTERVAL_SECONDS, retraining on
    DFG_RETRAIN_SCHEDULE (when DFG_RETRAIN_MIN_LABELS new labels arrived)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from feedback.jobs import retrain_job, sync_job
    from feedback.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)   # one line per request drowns the progress lines
    settings = _settings()
    runner = Worker()
    if settings.label_studio_configured:
        runner.add_job("sync", sync_job(settings), IntervalTrigger(seconds=settings.sync_interval_seconds),
                       run_at_start=True)
        click.echo(f"sync with {settings.label_studio_url} every {settings.sync_interval_seconds:g} s")
    else:
        click.echo("Label Studio is not configured (DFG_LABEL_STUDIO_URL, DFG_LABEL_STUDIO_API_KEY): no sync job.",
                   err=True)
    # Labels arrive only through Label Studio, so retraining is scheduled beside a sync job.
    missing = missing_train_packages()
    if settings.retrain_schedule and settings.label_studio_configured and missing:
        click.echo(f"retraining is not scheduled: it needs the train extra (missing: {', '.join(missing)}); "
                   f"install it with: {TRAIN_EXTRA_INSTALL}", err=True)
    elif settings.retrain_schedule and settings.label_studio_configured:
        trigger = CronTrigger.from_crontab(settings.retrain_schedule, timezone="UTC")
        runner.add_job("retrain", retrain_job(settings), trigger)
        click.echo(f"retraining on '{settings.retrain_schedule}' (UTC) when at least "
                   f"{settings.retrain_min_labels} new labels arrived")
    if not runner.job_names:
        raise click.ClickException("no jobs to run")
    runner.run()


CANT_TELL = "can't tell"   # a column title (Python 3.11's f-strings cannot nest the quote)


@click.group("review")
def review() -> None:
    """Reviewers and gold tasks: images of known label mixed into the queue to measure each reviewer."""


@review.group("gold")
def gold() -> None:
    """Gold tasks (docs/review.md): add images of known label, see how many are in the queue."""


@gold.command("add")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), help="At most this many images per label (the first by name).")
def gold_add(folder: Path | None, limit: int | None) -> None:
    """Add FOLDER/Real and FOLDER/Fake as gold tasks: each is checked with the served model and waits until the
    sync mixes it into the queue (DFG_REVIEW_GOLD_RATE of the tasks sent). Without FOLDER: the base data's
    holdout, DFG_BASE_DATA_DIR/Test (never trained on either)."""
    from feedback.gold import add_gold
    from feedback.sync import open_state

    settings = _settings()
    if folder is None:
        if not settings.base_data_dir:
            raise click.ClickException("give a FOLDER with Real/ and Fake/ images of known label, or set "
                                       "DFG_BASE_DATA_DIR to use its Test split")
        folder = Path(settings.base_data_dir) / "Test"
    store, images = open_state(settings)
    try:
        added = add_gold(settings, store, images, folder, limit, progress=click.echo)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"gold tasks added: {added.added['real']} real, {added.added['fake']} fake"
               + (f"; {added.already} already in review, left as they are" if added.already else ""))
    for line in added.refused:
        click.echo(f"  refused {line}", err=True)
    if settings.review_gold_rate == 0:
        click.echo("note: DFG_REVIEW_GOLD_RATE is 0, so no gold task is sent to reviewers", err=True)


@gold.command("status")
def gold_status() -> None:
    """Gold tasks per label: held (not yet in the queue), in review, answered."""
    from feedback.gold import gold_counts
    from feedback.sync import open_state

    store, _ = open_state(_settings())
    for label, counts in gold_counts(store).items():
        click.echo(f"{label}: {counts['held']} held, {counts['in_review']} in review, {counts['answered']} answered")


@review.command("reviewers")
def reviewers() -> None:
    """Each reviewer's answers on gold tasks and whether their labels train (DFG_REVIEW_GOLD_MIN_ACCURACY)."""
    from core.outcomes import reviewer_records_in
    from core.reviewers import ReviewerBar
    from feedback.sync import open_state

    settings = _settings()
    store, _ = open_state(settings)
    bar = ReviewerBar.of(settings)
    with store.session() as session:
        records = reviewer_records_in(session)
    if not records:
        click.echo("no reviewer has answered yet")
        return
    names = _reviewer_names(settings)
    click.echo(f"bar: {bar.min_accuracy:.0%} right on gold tasks, judged after {bar.min_answers} Real/Fake answers")
    click.echo(f"{'reviewer':<36} {'gold right':>12} {'accuracy':>9} {CANT_TELL:>10} {'labels':>7}  status")
    for reviewer, record in sorted(records.items()):
        accuracy = "-" if record.accuracy is None else f"{record.accuracy:.0%}"
        click.echo(f"{names.get(reviewer, str(reviewer)):<36} {f'{record.gold_correct}/{record.gold_answers}':>12} "
                   f"{accuracy:>9} {record.gold_cant_tell:>10} {record.labels:>7}  {bar.status(record)}")


def _reviewer_names(settings: Settings) -> dict[int, str]:
    """Label Studio user id → "id email", when Label Studio answers; else nothing (ids are shown)."""
    if not settings.label_studio_configured:
        return {}
    client = LabelStudioClient(settings.label_studio_url, settings.label_studio_api_key,
                               settings.label_studio_timeout_seconds)
    try:
        return {user.id: f"{user.id} {user.email}" for user in client.sdk.users.list()}
    except (ApiError, httpx.HTTPError):
        return {}
    finally:
        client.close()
