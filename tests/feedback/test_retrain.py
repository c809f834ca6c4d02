"""The gate on real (tiny) training runs: a poisoned challenger is refused, a better one promoted."""
from __future__ import annotations

import jsonschema
import pytest
from click.testing import CliRunner

from cli import main
from feedback.retrain import new_labels, retrain
from feedback.sync import open_state
from server.api.openapi import CHECK
from tests.retraining_loop import CHAMPION, feedback_images

pytestmark = pytest.mark.slow
FLIP = {"real": "fake", "fake": "real"}


def test_challenger_trained_on_flipped_labels_is_rejected_and_the_champion_keeps_serving(loop, tmp_path):
    for data, truth in feedback_images(tmp_path / "feedback", 20, seed=1):
        loop.reviewed(data, FLIP[truth])            # reviewers who say the opposite of the truth
    outcome = retrain(loop.settings, progress=print)
    print(outcome.record["metrics"])
    assert outcome.decision == "rejected", outcome.reason
    assert "worse on the base holdout" in outcome.reason
    assert loop.registry.champion() == CHAMPION
    [record] = loop.decisions()
    assert record["decision"] == "rejected" and record["challenger"] in loop.registry.version_names()
    assert loop.check(feedback_images(tmp_path / "more", 1, seed=9)[0][0])["model_version"] == CHAMPION


def test_better_challenger_is_promoted_served_marked_and_rolled_back(loop, tmp_path):
    checks = [loop.reviewed(data, truth) for data, truth in feedback_images(tmp_path / "feedback", 20, seed=1)]
    outcome = retrain(loop.settings, progress=print)
    print(outcome.record["metrics"])
    assert outcome.decision == "promoted", outcome.reason
    new = outcome.record["challenger"]
    assert loop.registry.champion() == new
    fresh = feedback_images(tmp_path / "more", 1, seed=9)[0][0]
    assert loop.check(fresh)["model_version"] == new          # the running app switched without a restart
    assert loop.read(checks[0]["id"])["model_version"] == CHAMPION   # earlier checks keep theirs

    used = {check["id"]: loop.read(check["id"])["review"]["used_in_model"] for check in checks}
    train_items = set(outcome.record["data"]["feedback"]["train_items"])
    assert train_items and sum(value == new for value in used.values()) == len(train_items)
    assert all(value in (new, None) for value in used.values())
    jsonschema.validate(loop.read(checks[0]["id"]), CHECK)           # the documented contract
    assert new_labels(open_state(loop.settings)[0]) == 0              # the schedule counts from this run

    listed = CliRunner(env={"DFG_INSTANCE_DIR": str(loop.settings.instance_dir)}).invoke(main, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert "promoted" in listed.output and new in listed.output and "feedback log loss" in listed.output

    rolled = CliRunner(env={"DFG_INSTANCE_DIR": str(loop.settings.instance_dir)}).invoke(main, ["models", "rollback"])
    assert rolled.exit_code == 0, rolled.output
    assert loop.registry.champion() == CHAMPION
    assert loop.check(feedback_images(tmp_path / "again", 1, seed=10)[0][0])["model_version"] == CHAMPION


def test_a_champions_landmark_head_is_kept_by_its_challenger(tmp_path, tiny_base, tiny_champion):
    import json
    import shutil

    import numpy as np

    from core.landmark_head import FEATURES, HEAD_FILE, HeadWeights
    from core.registry import sha256_file
    from tests.retraining_loop import Loop

    headed = tmp_path / "headed-champion"
    shutil.copytree(tiny_champion, headed)
    rng = np.random.default_rng(3)
    HeadWeights(rng.uniform(0, 1, FEATURES).astype(np.float32), np.ones(FEATURES, np.float32),
                rng.normal(0, 0.01, FEATURES).astype(np.float32), -1.0, 0.5).save(headed)
    meta = json.loads((headed / "metadata.json").read_text())
    meta["landmark_head"] = {"offset": 0.5, "data": "test"}
    meta["files"][HEAD_FILE] = sha256_file(headed / HEAD_FILE)
    (headed / "metadata.json").write_text(json.dumps(meta))
    loop = Loop(tmp_path / "loop", tiny_base, headed)
    for data, truth in feedback_images(tmp_path / "feedback", 6, seed=1):
        loop.reviewed(data, truth)
    outcome = retrain(loop.settings, progress=print)
    challenger = loop.registry.folder(outcome.record["challenger"])
    record = json.loads((challenger / "metadata.json").read_text())
    assert record["landmark_head"] == {"offset": 0.5, "data": "test", "kept_from": CHAMPION}
    assert record["files"][HEAD_FILE] == meta["files"][HEAD_FILE]   # the very same head
    loop.registry.verify(outcome.record["challenger"])
