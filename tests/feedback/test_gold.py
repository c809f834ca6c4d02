"""Gold tasks on a real store (SQLite and PostgreSQL) and the shipped model: added as held checks, released at the
configured rate, shown like any other task, never trained on; a reviewer who misses them has their labels held back."""
from __future__ import annotations

import itertools
import random

from click.testing import CliRunner

from cli import main
from core.outcomes import apply_annotation, reviewer_records_in
from core.resolution import ReviewRule
from core.reviewers import ReviewerBar
from core.settings import Settings
from core.store import ReviewItem
from feedback.dataset import reviewed_images
from feedback.gold import HELD, add_gold, gold_counts, release_gold
from feedback.outbox import current_fields
from feedback.sync import open_state
from server import create_app, metrics
from tests.conftest import API_KEY
from tests.images import distinct_face_jpegs

_ids = itertools.count(1)
CHOICE = {"real": "Real", "fake": "Fake"}


def _gold_folder(root, images: list[bytes]):
    for index, data in enumerate(images):
        label = "Real" if index % 2 == 0 else "Fake"
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{index:02d}.jpg").write_bytes(data)
    return root


def _answer(session, item: ReviewItem, label: str, by: int, rule: ReviewRule) -> None:
    apply_annotation(session, item.ext_id, 1, {"id": next(_ids), "completed_by": by,
                                               "result": [{"type": "choices", "from_name": "label",
                                                           "value": {"choices": [CHOICE[label]]}}]}, rule)


def test_gold_tasks_measure_reviewers_and_never_train(tmp_path, each_database_url):
    faces = distinct_face_jpegs(16)
    # One answer labels here (the shipped model is sure these faces are real: under the default rule a lone Fake
    # would wait for a second reviewer, core/resolution.py).
    settings = Settings(instance_dir=tmp_path / "instance", api_keys=[API_KEY], review_gold_rate=0.25,
                        review_confident_real=1e-6, review_confident_fake=0.999999, database_url=each_database_url)
    app = create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY], "database_url": each_database_url})
    client, auth = app.test_client(), {"Authorization": f"Bearer {API_KEY}"}
    store, images = open_state(settings)

    added = add_gold(settings, store, images, _gold_folder(tmp_path / "gold", faces[:6]), progress=print)
    assert added.added == {"real": 3, "fake": 3} and not added.refused
    again = add_gold(settings, store, images, tmp_path / "gold", progress=print)
    assert again.added == {"real": 0, "fake": 0} and again.already == 6     # an image is gold once

    for data in faces[6:]:   # ten disputes from users
        check = client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg").get_json()
        assert client.post(f"/api/v1/checks/{check['id']}/disputes", headers=auth,
                           json={"label": "fake"}).status_code == 202
    # 25 % of the tasks: 10 users' items want 0.25 / 0.75 × 10 ≈ 3 gold ones, Real and Fake in turn
    assert release_gold(store, 0.25, random.Random(1)) == 3
    assert release_gold(store, 0.25, random.Random(1)) == 0
    counts = gold_counts(store)
    assert sum(c["held"] for c in counts.values()) == 3 and abs(counts["real"]["held"] - counts["fake"]["held"]) == 1

    with store.session() as session:
        gold = session.query(ReviewItem).filter(ReviewItem.gold_label.is_not(None)).all()
        users = session.query(ReviewItem).filter(ReviewItem.gold_label.is_(None)).all()
        released = [item for item in gold if item.push_state != HELD]
        # A gold task's data is a user's task's data: the same fields, a dispute of the model's verdict.
        user_fields, gold_fields = current_fields(session, users[0]), current_fields(session, released[0])
        assert gold_fields.keys() == user_fields.keys()
        assert gold_fields["why"].startswith(("Disputed: the user says this image is ", "Uncertain"))
        assert "gold" not in repr(gold_fields).lower()

        rule = ReviewRule.of(settings)
        for item in gold:        # careless (7) gets every gold task wrong; careful (8) every one right
            _answer(session, item, item.gold_label, 8, rule)
            _answer(session, item, {"real": "fake", "fake": "real"}[item.gold_label], 7, rule)
        for item in users[:4]:   # the users' images: careless alone labels four, careful alone four more
            _answer(session, item, "fake", 7, rule)
        for item in users[4:8]:
            _answer(session, item, "real", 8, rule)
        records = reviewer_records_in(session)
    assert records[7].accuracy == 0 and records[8].accuracy == 1 and records[7].labels == records[8].labels == 4
    assert ReviewerBar.of(settings).held_back(records) == {7}

    everyone = reviewed_images(store)
    assert len(everyone) == 8, "gold tasks are never training data, whatever their answers"
    kept = reviewed_images(store, frozenset({7}), ReviewRule.of(settings))
    assert [image.label for image in kept] == [0, 0, 0, 0]      # careful's Real labels only

    shown = CliRunner(env={"DFG_INSTANCE_DIR": str(settings.instance_dir), "DFG_DATABASE_URL": each_database_url}) \
        .invoke(main, ["review", "reviewers"])
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line for line in shown.output.splitlines()[2:]}
    assert lines["7"].endswith("held back") and "0/6" in lines["7"] and lines["8"].endswith("trusted")

    text = metrics.exposition(store, ReviewerBar.of(settings)).decode()
    assert 'dfg_reviewer_gold_accuracy{reviewer="7"} 0.0' in text and 'dfg_reviewer_held_back{reviewer="7"} 1.0' in text
    assert 'dfg_reviewer_held_back{reviewer="8"} 0.0' in text and 'dfg_review_gold_tasks{state="held"} 3.0' in text


def test_gold_add_refuses_a_folder_without_label_folders(tmp_path):
    (tmp_path / "photos").mkdir()
    result = CliRunner(env={"DFG_INSTANCE_DIR": str(tmp_path / "instance")}).invoke(
        main, ["review", "gold", "add", str(tmp_path / "photos")])
    assert result.exit_code != 0 and "Real" in result.output and "Fake" in result.output
