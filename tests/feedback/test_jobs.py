"""The worker's retraining job: due only with DFG_RETRAIN_MIN_LABELS new labels; the schedule is a crontab."""
from __future__ import annotations

import logging
import threading

import pytest
from pydantic import ValidationError

from core.settings import Settings
from feedback.jobs import retrain_job
from tests.retraining_loop import feedback_images


def test_not_due_below_the_label_minimum(loop, tmp_path, caplog):
    for data, truth in feedback_images(tmp_path / "feedback", 2, seed=1):
        loop.reviewed(data, truth)
    job = retrain_job(loop.settings.model_copy(update={"retrain_min_labels": 5}))
    with caplog.at_level(logging.INFO, logger="feedback.worker.retrain"):
        job(threading.Event())
    assert "retraining not due: 4 new labels since the last run, DFG_RETRAIN_MIN_LABELS is 5" in caplog.text
    assert loop.decisions() == []


def test_schedule_is_validated_as_a_crontab():
    assert Settings(retrain_schedule="").retrain_schedule == ""          # off
    with pytest.raises(ValidationError, match="not a crontab expression"):
        Settings(retrain_schedule="weekly")
