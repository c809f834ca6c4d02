"""Retraining: reviewed labels + base data → a fine-tuned challenger → the gate → promote or keep.

One run (`deepfake-guard retrain`, or the worker on DFG_RETRAIN_SCHEDULE):
1. take the store lease (one retraining at a time across processes and hosts; feedback/lease.py);
2. turn every reviewed image into the crops the server scored, split by a stable hash
   (feedback/dataset.py), and add the feedback-train crops to the base training data, weighted;
3. fine-tune the champion (models/training/train.py, `--init`) and build a version folder (models/training/bundle.py);
4. score champion and challenger on the same fixed base holdout and feedback holdout, apply the
   gate (feedback/gate.py), promote or keep the champion;
5. write the decision to the registry (core/registry.py, retraining.jsonl): both models' metrics,
   the data used and the reason; mark the labels a promoted model learnt from (used_in_model).
"""
from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import update

from core.outcomes import reviewer_records_in
from core.registry import Registry
from core.resolution import ReviewRule
from core.reviewers import ReviewerBar
from core.served_model import ServedModel
from core.settings import Settings
from core.shared_models import open_registry
from core.store import ReviewItem, Store
from feedback.dataset import (
    WORK_DIR,
    FeedbackSet,
    ReviewedImage,
    base_data,
    build_feedback_set,
    combined,
    labels_since,
    reviewed_images,
)
from feedback.gate import (
    Evidence,
    best_on_record,
    feedback_report,
    image_scores,
    loss_improvement,
    paired_auc_noise,
    promotion_decision,
)
from feedback.lease import Lease
from feedback.sync import open_state, read_state, write_state
from models.data.pipeline import Split
from models.training.detector import is_backbone_model

log = logging.getLogger(__name__)
LEASE_NAME = "retrain_lease"
LAST_RUN = "retrain_last_run"       # when the last completed (non-dry) run started
AUGMENT = "flip"                    # the shipped model's augmentation: cheap, and label-preserving
BATCH_SIZE = 32


class Interrupted(RuntimeError):
    """The worker is stopping, or the lease was lost to another retraining."""


@dataclass
class Outcome:
    decision: str          # promoted | rejected | dry-run | skipped | failed
    reason: str
    record: dict
    lock_held: bool = False   # skipped because another retraining holds the lock

    def summary(self) -> str:
        return f"retraining {self.decision}: {self.reason}"


def _now() -> datetime:
    return datetime.now(UTC)


def new_labels(store: Store) -> int:
    """Resolved labels that arrived since the last completed retraining began."""
    return labels_since(store, read_state(store, LAST_RUN))


def _base_report(report: dict) -> dict:
    return {key: report.get(key) for key in ("n", "roc_auc", "average_precision", "accuracy", "f1", "threshold",
                                             "balance")}


def reviewer_check(store: Store, settings: Settings) -> tuple[list[ReviewedImage], dict]:
    """The reviewed images without the labels of reviewers the gold tasks hold back (core/reviewers.py), and what
    that takes out, for the run record."""
    bar = ReviewerBar.of(settings)
    with store.session() as session:
        records = reviewer_records_in(session)
    held_back = sorted(bar.held_back(records))
    reviewed = reviewed_images(store, frozenset(held_back), ReviewRule.of(settings))
    everyone = len(reviewed_images(store)) if held_back else len(reviewed)
    return reviewed, {
        "bar": {"min_accuracy": bar.min_accuracy, "min_answers": bar.min_answers}, "held_back": held_back,
        "labelled_images": {"by_everyone": everyone, "without_held_back": len(reviewed)},
        "gold": {str(reviewer): {"answers": record.gold_answers, "correct": record.gold_correct,
                                 "status": bar.status(record)}
                 for reviewer, record in sorted(records.items()) if record.gold_answers}}


def gate_scores(model: ServedModel, base_holdout: Split, feedback: FeedbackSet):
    """One model's scores as served: the base holdout (a models.evaluation.evaluate.Evaluation) and each held-out
    reviewed image (its most suspicious crop)."""
    from models.evaluation.evaluate import evaluate_split, score_split

    info = model.info
    base = evaluate_split(model, base_holdout, "base_holdout", info.threshold, info.uncertain_band, robustness=False)
    scores = np.zeros(0)
    if feedback.holdout.paths:
        scores = image_scores(score_split(model, feedback.holdout), feedback.holdout_groups)
    return base, scores


@dataclass
class Measured:
    """One model on the fixed base holdout and on the held-out reviewed images (scored as served)."""
    metrics: dict
    base_scores: np.ndarray
    feedback_scores: np.ndarray


def evaluate_model(model: ServedModel, base_holdout: Split, feedback: FeedbackSet) -> Measured:
    base, scores = gate_scores(model, base_holdout, feedback)
    return Measured({"version": model.version, "base_holdout": _base_report(base.report),
                     "feedback_holdout": feedback_report(np.asarray(feedback.holdout_labels), scores,
                                                         model.info.threshold)}, base.scores, scores)


def gate_evidence(champion: Measured, challenger: Measured, base_labels, feedback_labels, records: list[dict],
                  base_description: dict, confidence: float) -> Evidence:
    """The noise of the base holdout, the best figure on record (the champion's now, at least) and the
    feedback improvement's lower bound, for promotion_decision."""
    champion_auc = champion.metrics["base_holdout"]["roc_auc"]
    now = (champion_auc, champion.metrics["version"])
    reference = max(now, best_on_record(records, base_description) or now, key=lambda pair: pair[0])
    improvement = low = None
    if len(feedback_labels):
        improvement, low = loss_improvement(feedback_labels, champion.feedback_scores, challenger.feedback_scores,
                                            confidence)
    return Evidence(paired_auc_noise(base_labels, champion.base_scores, challenger.base_scores), reference[0],
                    reference[1], improvement, low, confidence)


def _keras_challenger(settings: Settings, champion: ServedModel, champion_folder: Path, train_split: Split,
                      weights, base, description: dict, version: str, face_crop: bool, lease: Lease,
                      stop: threading.Event, work: Path, progress: Callable[[str], None]):
    """Fine-tune a Keras-trained champion (its landmark head kept); returns how to write the challenger's folder."""
    from models import quiet_tensorflow

    quiet_tensorflow()
    from models.training.bundle import write_model_folder
    from models.training.train import fit

    keeper = _lease_keeper(lease, stop)
    progress(f"fine-tuning {champion.version} for up to {settings.retrain_epochs} epochs on {len(train_split.paths)} "
             f"images (reviewed ones weigh {settings.feedback_weight:g})")
    result = fit(train_split, base.validation, epochs=settings.retrain_epochs, init=champion_folder / "model.keras",
                 checkpoint_dir=work / "checkpoints", batch_size=BATCH_SIZE, augment=AUGMENT,
                 input_size=champion.info.input_size, sample_weights=weights,
                 learning_rate=settings.retrain_learning_rate, keep_best=False,
                 reencode_quality=champion.info.rule.reencode_quality, callbacks=[keeper])
    if keeper.lost:
        raise Interrupted("the retraining lease was lost (another retraining took it after it expired); "
                          "raise DFG_RETRAIN_LEASE_SECONDS above the time of one epoch")
    if stop.is_set():
        raise Interrupted("stopped by the worker's shutdown before the gate")
    description["training"] = {"epochs_run": result.epochs_run, "max_epochs": settings.retrain_epochs,
                               "seconds": round(result.seconds, 1), "batch_size": BATCH_SIZE, "augment": AUGMENT,
                               "learning_rate": settings.retrain_learning_rate,
                               "init": champion.version, "balance": {"Train": train_split.balance()}}
    head = champion.head.weights if champion.head else None   # kept as it is: it reads landmarks, not the CNN
    if head is not None:
        description["landmark_head"] = {**champion.info.metadata.get("landmark_head", {}),
                                        "kept_from": champion.version}

    def build(folder: Path) -> dict:
        return write_model_folder(folder, result.model, base.validation, {"base_holdout": base.holdout},
                                  description, version, history=result.history,
                                  reencode_quality=champion.info.rule.reencode_quality, face_crop=face_crop,
                                  head=head, canonical=champion.info.rule.canonical_orientation)  # as its head saw
    return build


def _head_challenger(champion: ServedModel, train_split: Split, weights, base, description: dict, version: str,
                     face_crop: bool, progress: Callable[[str], None]):
    """Refit the head of a backbone champion (models/training/detector.py) on the features it computes as served; the
    backbone stays. Returns how to write the challenger's folder."""
    import onnx

    from models.training.detector import refit_head, write_detector_folder

    started = time.perf_counter()
    progress(f"refitting the head of {champion.version} on {len(train_split.paths)} images' backbone features "
             "(reviewed ones weigh more)")
    validation = {"base validation": base.validation}
    head, record = refit_head(champion, train_split, np.asarray(weights) if weights else None, validation)
    description["feature_head"] = {**record, "refitted_from": champion.version}
    if "backbone" in champion.info.metadata:
        description["backbone"] = champion.info.metadata["backbone"]
    description["training"] = {"seconds": round(time.perf_counter() - started, 1), "init": champion.version,
                               "balance": {"Train": train_split.balance()}}
    backbone = onnx.load(champion.folder / "model.onnx")

    def build(folder: Path) -> dict:
        return write_detector_folder(folder, backbone, head, champion.rule, validation, {"base_holdout": base.holdout},
                                     description, version, robustness=False, progress=progress, face_crop=face_crop)
    return build


def _lease_keeper(lease: Lease, stop: threading.Event):
    """A Keras callback: renew the lease after every epoch; end training when stopping or the lease is lost."""
    import keras

    class LeaseKeeper(keras.callbacks.Callback):
        lost = False

        def on_epoch_end(self, epoch, logs=None):
            if not lease.renew():
                self.lost = True
            if self.lost or stop.is_set():
                self.model.stop_training = True

    return LeaseKeeper()


def mark_used(store: Store, item_ids: list[int], version: str) -> None:
    """Record on each review item that `version` (now the champion) was trained on its label."""
    if not item_ids:
        return
    with store.session() as session:
        session.execute(update(ReviewItem).where(ReviewItem.id.in_(item_ids)).values(used_in_model=version))


def _record(run_id: str, started: datetime, decision: str, reason: str, dry_run: bool, **extra) -> dict:
    return {"run": run_id, "at": started.isoformat(timespec="seconds"), "decision": decision, "reason": reason,
            "dry_run": dry_run, **extra}


def retrain(settings: Settings, dry_run: bool = False, progress: Callable[[str], None] | None = None,
            stop: threading.Event | None = None) -> Outcome:
    """One retraining run; every outcome but an unconfigured one is written to the registry.

    Args:
        settings: DFG_* settings (instance folder, base data, weights, gate tolerance, …).
        dry_run: train and evaluate, but neither register nor promote the challenger.
        progress: receives one line per step.
        stop: set it to end the run after the current epoch (the worker's SIGTERM).
    """
    progress = progress or log.info
    stop = stop or threading.Event()
    started, clock = _now(), time.monotonic()
    run_id = f"{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    store, images = open_state(settings)
    registry = open_registry(settings)
    lease = Lease(store, LEASE_NAME, settings.retrain_lease_seconds)
    if not lease.acquire():
        holder = lease.holder()
        reason = (f"another retraining holds the lock ({holder['owner']}, until {holder['until']:%Y-%m-%d %H:%M:%S} UTC)"
                  if holder else "another retraining took the lock first")
        record = _record(run_id, started, "skipped", reason, dry_run)
        registry.record_retraining(record)
        progress(f"skipped: {reason}")
        return Outcome("skipped", reason, record, lock_held=True)
    work = settings.instance_path() / WORK_DIR / run_id
    try:
        outcome = _run(settings, store, images, registry, lease, stop, work, run_id, started, dry_run, progress)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        registry.record_retraining(_record(run_id, started, "failed", reason, dry_run,
                                           seconds=round(time.monotonic() - clock, 1)))
        raise
    finally:
        lease.release()
        shutil.rmtree(work, ignore_errors=True)
    outcome.record["seconds"] = round(time.monotonic() - clock, 1)
    registry.record_retraining(outcome.record)
    progress(f"{outcome.summary()} ({outcome.record['seconds']:.1f} s)")
    return outcome


def _run(settings: Settings, store: Store, images, registry: Registry, lease: Lease, stop: threading.Event,
         work: Path, run_id: str, started: datetime, dry_run: bool, progress: Callable[[str], None]) -> Outcome:
    from core.faces import FaceDetector
    from core.registry import resolve_model
    from core.served_model import ServedModel

    champion_folder = resolve_model(None, registry=registry)
    champion = ServedModel(champion_folder, threads=settings.runtime_threads)
    reviewed, reviewers = reviewer_check(store, settings)
    progress(f"champion {champion.version}; {len(reviewed)} reviewed labels, {new_labels(store)} new since the last run")
    labelled = reviewers["labelled_images"]
    if reviewers["held_back"]:
        progress(f"reviewers {', '.join(map(str, reviewers['held_back']))} are under the bar on gold tasks: their "
                 f"labels are held back ({labelled['by_everyone']} labelled images with them, "
                 f"{labelled['without_held_back']} without)")
    if not reviewed:
        reason = (f"no label to learn from: the {labelled['by_everyone']} there are come from reviewers held back by "
                  "their gold answers" if labelled["by_everyone"] else "no reviewed labels yet: nothing to learn from")
        return Outcome("skipped", reason, _record(run_id, started, "skipped", reason, dry_run,
                                                  champion=champion.version, reviewers=reviewers))

    size = champion.info.input_size
    faces = FaceDetector(num_threads=settings.runtime_threads, min_score=settings.face_min_score)
    feedback = build_feedback_set(reviewed, images, work / "feedback", size, faces,
                                  settings.retrain_holdout_fraction, settings.max_faces, settings.max_pixels)
    progress(f"feedback: {len(feedback.train_items)} images ({len(feedback.train.paths)} crops) for training, "
             f"{len(feedback.holdout_items)} held out ({len(feedback.holdout.paths)} crops)"
             + (f"; {len(feedback.missing)} images missing from the image store, skipped" if feedback.missing else ""))
    face_crop = bool((champion.info.metadata.get("data_rule") or {}).get("face_crop"))
    base = base_data(settings, progress, face_crop, size)
    progress(f"base data: train {base.train.balance()}, validation {base.validation.balance()}, "
             f"holdout {base.holdout.balance()}")
    train_split, weights = combined(base.train, feedback.train, settings.feedback_weight)

    version = f"{started:%Y%m%d-%H%M%S}-retrain"
    data = {"base": base.description, "feedback": feedback.describe(), "feedback_weight": settings.feedback_weight,
            "holdout_fraction": settings.retrain_holdout_fraction, "reviewers": reviewers}
    description = {
        "architecture": f"{champion.info.metadata.get('architecture', '?')} fine-tuned from {champion.version}",
        "parent_version": champion.version,
        "rebuild_command": "deepfake-guard retrain",
        "training_data": {"kind": "retraining", **{k: v for k, v in data.items() if k != "feedback"},
                          "feedback": {k: v for k, v in data["feedback"].items() if not k.endswith("_items")}},
    }
    if is_backbone_model(champion_folder):
        build = _head_challenger(champion, train_split, weights, base, description, version, face_crop, progress)
    else:
        build = _keras_challenger(settings, champion, champion_folder, train_split, weights, base, description,
                                  version, face_crop, lease, stop, work, progress)
    scratch = contextlib.nullcontext(work / "dry-run") if dry_run else registry.staging(version)
    with scratch as folder:
        metadata = build(folder)
        challenger = ServedModel(folder, threads=settings.runtime_threads)
        measured = {"champion": evaluate_model(champion, base.holdout, feedback),
                    "challenger": evaluate_model(challenger, base.holdout, feedback)}
        metrics = {role: model.metrics for role, model in measured.items()}
        evidence = gate_evidence(measured["champion"], measured["challenger"], base.holdout.labels,
                                 np.asarray(feedback.holdout_labels), registry.retraining(), base.description,
                                 settings.retrain_confidence)
        gate = promotion_decision(metrics["champion"], metrics["challenger"], evidence, settings.retrain_auc_tolerance,
                                  settings.retrain_min_holdout)
        decision = ("dry-run" if dry_run else "promoted") if gate.promote else ("dry-run" if dry_run else "rejected")
        reason = (f"would {'promote' if gate.promote else 'keep the champion'}: " if dry_run else "") + gate.reason
        gate_rule = {"auc_tolerance": settings.retrain_auc_tolerance, "min_holdout": settings.retrain_min_holdout,
                     "better_on_feedback": f"log loss lower beyond chance ({settings.retrain_confidence:.0%} bound)",
                     "evidence": evidence.to_json()}
        metadata["retraining"] = {"run": run_id, "decision": decision, "reason": reason, "gate": gate_rule,
                                  "metrics": metrics}
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=2))
    for role in ("champion", "challenger"):
        progress(_metrics_line(role, metrics[role]))
    if gate.promote and not dry_run:
        registry.promote(version, note=f"retrain: {gate.reason}")
        mark_used(store, feedback.train_items, version)
        progress(f"promoted {version}: running servers switch to it on their next request")
    if not dry_run:
        write_state(store, LAST_RUN, started)
    return Outcome(decision, reason, _record(
        run_id, started, decision, reason, dry_run, champion=champion.version,
        challenger=None if dry_run else version, would_promote=gate.promote, gate=gate_rule, metrics=metrics,
        data=data, epochs_run=description["training"].get("epochs_run"),
        training_seconds=description["training"]["seconds"]))


def _metrics_line(role: str, metrics: dict) -> str:
    base, feedback = metrics["base_holdout"], metrics["feedback_holdout"]
    number = lambda value: "n/a" if value is None else f"{value:.4f}"   # noqa: E731
    return (f"{role:>10} {metrics['version']}: base holdout (n={base['n']}) ROC AUC {number(base['roc_auc'])}, "
            f"accuracy {number(base['accuracy'])}; feedback holdout (n={feedback['n']}) log loss "
            f"{number(feedback['log_loss'])}, Brier {number(feedback['brier'])}, accuracy {number(feedback['accuracy'])}")
