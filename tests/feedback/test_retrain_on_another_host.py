"""Retraining on another host than the server's: champion fetched from the object store, challenger published,
promoted in the shared record and served by the server without a restart."""
from __future__ import annotations

import time

import pytest

from core.shared_models import SharedRegistry
from feedback.retrain import retrain
from tests.retraining_loop import CHAMPION, Loop, feedback_images
from tests.scale_services import s3_bucket

pytestmark = pytest.mark.slow


def test_a_retraining_on_another_host_is_served_by_the_first(tmp_path, tiny_base, tiny_champion, monkeypatch):
    with s3_bucket() as env:
        for name, value in {**env, "DFG_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
                            "DFG_MODEL_POLL_SECONDS": "0.2"}.items():
            monkeypatch.setenv(name, value)
        loop = Loop(tmp_path / "a", tiny_base, tiny_champion)          # host A: the server, the champion promoted
        assert isinstance(loop.registry, SharedRegistry)
        checks = [loop.reviewed(data, truth) for data, truth in feedback_images(tmp_path / "feedback", 20, seed=1)]

        on_b = loop.settings.model_copy(update={"instance_dir": tmp_path / "b" / "instance"})
        outcome = retrain(on_b, progress=print)                       # host B: no model, no image on its disk
        assert outcome.decision == "promoted", outcome.reason
        new = outcome.record["challenger"]
        assert (tmp_path / "b" / "instance" / "models" / CHAMPION).is_dir()   # fetched from the store to train on
        assert loop.registry.champion() == new and new in loop.registry.published()
        assert not (tmp_path / "b" / "instance" / "images").exists()

        time.sleep(0.3)                                               # past A's poll interval
        fresh = feedback_images(tmp_path / "more", 1, seed=9)[0][0]
        assert loop.check(fresh)["model_version"] == new              # A fetched the challenger and serves it
        assert (tmp_path / "a" / "instance" / "models" / new / "model.onnx").is_file()
        assert loop.read(checks[0]["id"])["review"]["used_in_model"] in (new, None)
        loop.app.extensions["images"].flush()
