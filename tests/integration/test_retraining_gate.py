"""Wrong labels cannot walk the model downhill, against a real Label Studio (issue: retraining that wrong labels
cannot walk downhill): every label wrong → the champion keeps serving; the same images labelled honestly → a
promotion; a reviewer who misses the gold tasks → their labels never reach training."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.registry import Registry
from tests.integration.review_helpers import answer, reviewer
from tests.integration.services import run_cli
from tests.models.tiny_data import write_tiny_set
from tests.retraining_loop import CHAMPION, SIZE, build_tiny_champion, feedback_images

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]
FLIP = {"real": "fake", "fake": "real"}
CHOICE = {"real": "Real", "fake": "Fake"}
PER_CLASS = 20     # reviewed images per class: as the retraining unit tests (tests/feedback/test_retrain.py)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """The base data (Test: the fixed base holdout) and a champion trained on it."""
    root = tmp_path_factory.mktemp("tiny")
    base = write_tiny_set(root / "base", 24, size=SIZE, seed=0, splits={"Validation": 8, "Test": 16})
    return base, build_tiny_champion(base, root / "champion")


def _deployed(deployment, tiny, **extra: str) -> tuple[dict, Registry]:
    base, champion = tiny
    registry = Registry.for_instance(deployment.folder / "instance")
    registry.add(champion)
    registry.promote(CHAMPION, note="tiny champion for the gate tests")
    env = {**deployment.env, "DFG_BASE_DATA_DIR": str(base), "DFG_RETRAIN_EPOCHS": "6",
           "DFG_RETRAIN_LEARNING_RATE": "1e-3", "DFG_RETRAIN_MIN_HOLDOUT": "3", "DFG_FEEDBACK_WEIGHT": "5", **extra}
    deployment.project_id()
    return env, registry


def _disputed(deployment, images: list[tuple[bytes, str]]) -> list[tuple[dict, str]]:
    """Each image checked and disputed (the user claims the opposite of the truth); (check, truth) pairs."""
    checks = []
    for data, truth in images:
        response = deployment.client.post("/api/v1/checks", headers=deployment.auth, data=data, content_type="image/png")
        assert response.status_code == 200 and response.get_json()["model_version"] == CHAMPION, response.get_json()
        check = response.get_json()
        disputed = deployment.client.post(f"/api/v1/checks/{check['id']}/disputes", headers=deployment.auth,
                                          json={"label": FLIP[truth]})
        assert disputed.status_code == 202
        checks.append((check, truth))
    return checks


def _labelled_and_retrained(deployment, env: dict, checks: list[tuple[dict, str]], wrong: bool) -> dict:
    """Sync, one reviewer labels every task (the truth, or its opposite), sync, retrain; the run's record."""
    assert run_cli(env, "sync").returncode == 0
    person = reviewer(deployment, "wrong" if wrong else "right")
    for check, truth in checks:
        [task] = deployment.ls_client.find_tasks(deployment.project_id(), f"dfg-{check['image']['sha256']}")
        answer(deployment, task.id, CHOICE[FLIP[truth] if wrong else truth], by=person)
    pulled = run_cli(env, "sync")
    assert pulled.returncode == 0 and f"{len(checks)} pulled now" in pulled.stdout, pulled.stdout
    retrained = run_cli(env, "retrain", timeout=900)
    assert retrained.returncode == 0, retrained.stderr
    [record] = Registry.for_instance(deployment.folder / "instance").retraining()
    return record


def _figures(record: dict) -> str:
    champion, challenger = record["metrics"]["champion"], record["metrics"]["challenger"]
    evidence = record["gate"]["evidence"]
    return (f"base-holdout ROC AUC {champion['base_holdout']['roc_auc']:.4f} → "
            f"{challenger['base_holdout']['roc_auc']:.4f} (noise SD {evidence['auc_noise']}, reference "
            f"{evidence['reference_auc']}); feedback log loss {champion['feedback_holdout']['log_loss']:.4f} → "
            f"{challenger['feedback_holdout']['log_loss']:.4f} on {challenger['feedback_holdout']['n']} held-out "
            f"reviewed images (improvement lower bound {evidence['loss_improvement_low']})")


def test_every_label_wrong_leaves_the_champion_serving(deployment, tiny, tmp_path, figures):
    env, registry = _deployed(deployment, tiny)
    checks = _disputed(deployment, feedback_images(tmp_path / "feedback", PER_CLASS, seed=1))
    record = _labelled_and_retrained(deployment, env, checks, wrong=True)
    figures(f"poisoned run ({len(checks)} labels, all wrong): {record['decision']}: {record['reason']}")
    assert record["decision"] == "rejected", record["reason"]
    assert registry.champion() == CHAMPION
    fresh = deployment.client.post("/api/v1/checks", headers=deployment.auth, content_type="image/png",
                                   data=feedback_images(tmp_path / "more", 1, seed=9)[0][0]).get_json()
    assert fresh["model_version"] == CHAMPION
    figures(f"  {_figures(record)}")


def test_the_same_images_labelled_honestly_promote(deployment, tiny, tmp_path, figures):
    env, registry = _deployed(deployment, tiny)
    checks = _disputed(deployment, feedback_images(tmp_path / "feedback", PER_CLASS, seed=1))
    record = _labelled_and_retrained(deployment, env, checks, wrong=False)
    figures(f"honest run ({len(checks)} labels, all right): {record['decision']}: {record['reason']}")
    assert record["decision"] == "promoted", record["reason"]
    assert registry.champion() == record["challenger"]
    figures(f"  {_figures(record)}")


def test_a_reviewer_who_misses_the_gold_tasks_trains_nothing(deployment, tiny, tmp_path, figures):
    """Gold tasks from the base holdout (`review gold add` without a folder) are mixed in at 25 %; a reviewer who
    answers every task wrong is held back, so retraining has no label to learn from."""
    env, registry = _deployed(deployment, tiny, DFG_REVIEW_GOLD_RATE="0.25")
    added = run_cli(env, "review", "gold", "add", "--limit", "5")
    assert added.returncode == 0 and "gold tasks added: 5 real, 5 fake" in added.stdout, added.stdout
    checks = _disputed(deployment, feedback_images(tmp_path / "feedback", 6, seed=1))
    pushed = run_cli(env, "sync")
    assert pushed.returncode == 0 and "4 gold tasks mixed in" in pushed.stdout, pushed.stdout   # 12 × 0.25 / 0.75
    tasks = deployment.tasks()
    assert len(tasks) == len(checks) + 4
    assert {key for task in tasks for key in task.data} == {key for key in tasks[0].data}   # all alike

    careless = reviewer(deployment, "careless")
    truths = {f"dfg-{check['image']['sha256']}": truth for check, truth in checks}
    gold_truths = _gold_truths(deployment)
    for task in tasks:
        truth = truths.get(task.ext_id) or gold_truths[task.ext_id]
        answer(deployment, task.id, CHOICE[FLIP[truth]], by=careless)
    assert run_cli(env, "sync").returncode == 0

    listed = run_cli(env, "review", "reviewers")
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(f"{careless} ")]
    assert "0/4" in line and line.endswith("held back"), listed.stdout
    retrained = run_cli(env, "retrain")
    assert retrained.returncode == 0 and "retraining skipped" in retrained.stdout, retrained.stdout
    [record] = registry.retraining()
    figures(f"gold tasks: reviewer {careless} 0/4 right on gold, held back; retrain: {record['reason']}")
    assert record["reviewers"]["held_back"] == [careless]
    assert record["reviewers"]["labelled_images"] == {"by_everyone": len(checks), "without_held_back": 0}
    assert registry.champion() == CHAMPION


def _gold_truths(deployment) -> dict[str, str]:
    from core.store import ReviewItem

    with deployment.store.session() as session:
        return {item.ext_id: item.gold_label for item in session.query(ReviewItem).filter(
            ReviewItem.gold_label.is_not(None))}
