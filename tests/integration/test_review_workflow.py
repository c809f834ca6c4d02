"""The review workflow on a real Label Studio: what a task tells reviewers, where "Can't tell" goes, and a
restart (kill -9, then a clean start) or a lost task that loses no review work."""
from __future__ import annotations

import io

import pytest

from feedback.dataset import reviewed_images
from feedback.labelstudio import HIDDEN_COLUMNS, REVIEW_VIEW
from tests.images import astronaut, distinct_face_jpegs, jpeg
from tests.integration.review_helpers import answer, check_on_page, dispute, raw_task, review_of, reviewer, task_of
from tests.integration.services import run_cli

pytestmark = pytest.mark.labelstudio
PAGE = "https://news.example.com/world/2026/12/story.html?id=42&ref=home"


def test_a_dispute_task_informs_without_steering(deployment):
    check = check_on_page(deployment, jpeg(astronaut()), PAGE)
    dispute(deployment, check, "fake", "the face looks pasted")
    assert run_cli(deployment.env, "labelstudio", "setup").returncode == 0
    synced = run_cli(deployment.env, "sync")
    assert synced.returncode == 0 and f"pushed check {check['id']} (dfg-{check['image']['sha256'][:12]}" in synced.stdout

    task = task_of(deployment, check)
    data = task.data
    assert data["page_url"] == PAGE and PAGE.replace("&", "&amp;") in data["page_link"]
    assert data["face_scores"] == [round(face["fake_probability"], 4) for face in check["faces"]]
    assert len(data["face_scores"]) == 1 and data["faces_text"].endswith(f"1: {data['face_scores'][0]:.2f}")
    verdict = {"fake": "FAKE", "real": "REAL", "uncertain": "CAN'T TELL"}[check["verdict"]]
    assert data["model"].startswith(f"Model {check['model_version']} says {verdict}: fake score ")
    assert "threshold" in data["model"] or "band" in data["model"]      # the number that explains the verdict
    assert isinstance(data["threshold"], float) and data["fake_probability"] == round(check["fake_probability"], 4)
    assert data["why"] == 'Disputed: the user says this image is FAKE — "the face looks pasted"'
    [predicted] = [p.model_dump() for p in deployment.ls_client.sdk.predictions.list(task=task.id)]
    assert {region["type"] for region in predicted["result"]} == {"rectanglelabels"}   # nothing pre-ticked
    assert [region["score"] for region in predicted["result"]] == data["face_scores"]   # each box its score

    views = deployment.ls_client.http.get("/api/dm/views", params={"project": deployment.project_id()}).json()
    [view] = [v for v in views if v["data"].get("title") == REVIEW_VIEW]
    assert view["data"]["columnsDisplayType"]["tasks:data.fake_probability"] == "Number"
    assert set(HIDDEN_COLUMNS) <= set(view["data"]["hiddenColumns"]["explore"])


def test_a_video_frame_task_names_the_moment_links_the_video_there_and_lists_the_other_frames(deployment):
    video_url, page = "https://cdn.example.com/clip.webm", "https://video.example.com/watch"
    frames = []
    for seconds, picture in ((61.5, jpeg(astronaut())), (62.0, jpeg(astronaut(), quality=60))):
        form = {"image": (io.BytesIO(picture), "frame.png"), "page_url": page, "source_url": video_url,
                "video_time": str(seconds), "video_group": "clip-group-1"}
        response = deployment.client.post("/api/v1/checks", headers=deployment.auth, data=form,
                                          content_type="multipart/form-data")
        assert response.status_code == 200, response.get_json()
        frames.append(response.get_json())
    dispute(deployment, frames[1], "fake")
    assert run_cli(deployment.env, "labelstudio", "setup").returncode == 0
    assert run_cli(deployment.env, "sync").returncode == 0

    data = task_of(deployment, frames[1]).data
    assert data["why"] == "Disputed: the user says the video frame at 01:02 of video.example.com/watch is FAKE"
    scores = [f"{frame['fake_probability']:.2f}" for frame in frames]
    assert data["video"] == (f"Video frame at 01:02; frames checked (time, fake score): 01:01.5 {scores[0]} · "
                             f"01:02.0 {scores[1]} (this one)")
    assert f'<a href="{video_url}#t=62" target="_blank" rel="noopener noreferrer">open the video at 01:02</a>' \
        in data["page_link"]
    assert data["source_url"] == video_url and data["page_url"] == page


def test_cant_tell_goes_to_another_reviewer_whose_label_ends_it(deployment):
    deployment.project_id()
    alice, bob = reviewer(deployment, "alice"), reviewer(deployment, "bob")
    check = check_on_page(deployment, jpeg(astronaut(), quality=83), PAGE)
    dispute(deployment, check, "real")
    assert run_cli(deployment.env, "sync").returncode == 0
    task = task_of(deployment, check)
    assert raw_task(deployment, task.id)["overlap"] == 1

    answer(deployment, task.id, "Can't tell", by=alice)
    assert raw_task(deployment, task.id)["is_labeled"]            # Label Studio alone would call it done
    synced = run_cli(deployment.env, "sync")
    assert synced.returncode == 0 and "1 sent to another reviewer" in synced.stdout
    reopened = raw_task(deployment, task.id)
    assert reopened["overlap"] == 2 and not reopened["is_labeled"]   # back in the queue for someone else
    assert reopened["data"]["reviews"].startswith("Needs another reviewer: 1 answer so far (1 Can't tell)")
    assert review_of(deployment, check)["status"] == "in_review"

    answer(deployment, task.id, "Fake", by=bob)
    synced = run_cli(deployment.env, "sync")
    assert synced.returncode == 0 and "1 pulled now" in synced.stdout
    review = review_of(deployment, check)
    assert review["status"] == "relabeled" and review["label"] == "fake" and review["reviewers"] == 2
    assert raw_task(deployment, task.id)["is_labeled"]


def test_a_label_against_a_confident_model_waits_for_a_second_reviewer(deployment):
    """The model scored the astronaut well under DFG_REVIEW_CONFIDENT_REAL (set high here, so it counts as sure
    the photo is real): one reviewer's "Fake" does not relabel it; the task goes to another reviewer, whose
    agreeing "Fake" does."""
    env = {**deployment.env, "DFG_REVIEW_CONFIDENT_REAL": "0.999"}   # the rule on, and the model counted as sure
    deployment.project_id()
    alice, bob = reviewer(deployment, "alice"), reviewer(deployment, "bob")
    check = check_on_page(deployment, jpeg(astronaut(), quality=81), PAGE)
    assert check["fake_probability"] <= 0.999
    dispute(deployment, check, "fake")
    assert run_cli(env, "sync").returncode == 0
    task = task_of(deployment, check)

    answer(deployment, task.id, "Fake", by=alice)
    synced = run_cli(env, "sync")
    assert synced.returncode == 0 and "1 sent to another reviewer" in synced.stdout, synced.stdout
    reopened = raw_task(deployment, task.id)
    assert reopened["overlap"] == 2 and not reopened["is_labeled"]
    assert reopened["data"]["reviews"].startswith("Needs a second reviewer: 1 answer so far (1 Fake)")
    review = review_of(deployment, check)
    assert review["status"] == "in_review" and review["label"] is None

    answer(deployment, task.id, "Fake", by=bob)
    synced = run_cli(env, "sync")
    assert synced.returncode == 0 and "relabeled" in synced.stdout, synced.stdout
    review = review_of(deployment, check)
    assert review["status"] == "relabeled" and review["label"] == "fake" and review["reviewers"] == 2


def test_three_cant_tell_close_it_undecided_and_out_of_training(deployment):
    deployment.project_id()
    people = [reviewer(deployment, name) for name in ("ann", "ben", "cat")]
    check = check_on_page(deployment, jpeg(astronaut(), quality=84), PAGE)
    dispute(deployment, check, "fake")
    assert run_cli(deployment.env, "sync").returncode == 0
    task = task_of(deployment, check)
    path = []
    for number, person in enumerate(people, start=1):
        answer(deployment, task.id, "Can't tell", by=person)
        synced = run_cli(deployment.env, "sync")
        assert synced.returncode == 0
        state = raw_task(deployment, task.id)
        path.append((number, review_of(deployment, check)["status"], state["overlap"], state["is_labeled"]))
    print("answers, status, overlap, is_labeled:", path)
    assert path == [(1, "in_review", 2, False), (2, "in_review", 3, False), (3, "undecided", 3, True)]
    assert "1 closed undecided" in synced.stdout
    assert raw_task(deployment, task.id)["data"]["reviews"].startswith("Closed undecided after 3 answers")
    review = review_of(deployment, check)
    assert review["label"] is None and review["reviewers"] == 3
    assert check["image"]["sha256"] not in {image.image_sha256 for image in reviewed_images(deployment.store)}


def _states(deployment, checks: dict[str, dict]) -> dict[str, str]:
    return {name: review_of(deployment, check)["status"] for name, check in checks.items()}


def test_restarts_and_lost_tasks_lose_no_review_work(deployment, figures):
    deployment.project_id()
    alice, bob, cat = (reviewer(deployment, name) for name in ("al", "bo", "cy"))
    images = distinct_face_jpegs(5)
    checks = {name: check_on_page(deployment, data, PAGE)
              for name, data in zip(("waiting", "second_look", "relabeled", "undecided"), images)}
    for check in checks.values():
        dispute(deployment, check, "real")
    assert run_cli(deployment.env, "sync").returncode == 0
    answer(deployment, task_of(deployment, checks["second_look"]).id, "Can't tell", by=alice)
    answer(deployment, task_of(deployment, checks["relabeled"]).id, "Fake", by=alice)
    for person in (alice, bob, cat):
        answer(deployment, task_of(deployment, checks["undecided"]).id, "Can't tell", by=person)
    assert run_cli(deployment.env, "sync").returncode == 0
    checks["queued"] = check_on_page(deployment, images[4], PAGE)
    dispute(deployment, checks["queued"], "fake")
    before = _states(deployment, checks)
    assert before == {"waiting": "in_review", "second_look": "in_review", "relabeled": "relabeled",
                      "undecided": "undecided", "queued": "queued"}
    tasks_before = {task.id for task in deployment.tasks()}

    deployment.ls.kill9()                      # Label Studio dies mid-flight, then starts again (data kept)
    restart_seconds = deployment.ls.start()
    synced = run_cli(deployment.env, "sync")
    assert synced.returncode == 0 and "re-pushed" not in synced.stdout and "pushed 1," in synced.stdout
    after = _states(deployment, checks)
    assert after == {**before, "queued": "in_review"}
    tasks_after = {task.id for task in deployment.tasks()}
    assert tasks_before < tasks_after and len(tasks_after) == 5
    assert raw_task(deployment, task_of(deployment, checks["second_look"]).id)["overlap"] == 2

    # A task deleted in Label Studio: its item is pushed again.
    deployment.ls_client.sdk.tasks.delete(str(task_of(deployment, checks["waiting"]).id))
    synced = run_cli(deployment.env, "sync")
    assert synced.returncode == 0 and "1 re-pushed" in synced.stdout and "pushed 1," in synced.stdout
    assert f"check {checks['waiting']['id']}" in synced.stdout
    assert len(deployment.tasks()) == 5 and _states(deployment, checks) == after

    # A new, empty project (Label Studio's data wiped, or another instance): every open item is pushed again.
    moved = {**deployment.env, "DFG_LABEL_STUDIO_PROJECT": deployment.title[:40] + " moved"}
    assert run_cli(moved, "labelstudio", "setup").returncode == 0
    synced = run_cli(moved, "sync")
    assert synced.returncode == 0 and "3 re-pushed" in synced.stdout and "pushed 3," in synced.stdout
    assert "2 reviewed items whose task is gone (their labels are kept here)" in synced.stdout
    final = _states(deployment, checks)
    assert final == after
    again = run_cli(moved, "sync")                 # the next run has nothing left to repair
    assert again.returncode == 0 and "re-pushed" not in again.stdout and "task is gone" not in again.stdout
    figures(f"review restart: states before {sorted(before.items())}; after kill -9 + restart ({restart_seconds:.0f} s) "
            f"{sorted(after.items())}; tasks {len(tasks_before)} → {len(tasks_after)} (the queued one pushed); "
            f"deleted task → 1 re-pushed; new project → 3 re-pushed, 2 reviewed kept here")


def test_a_project_of_the_version_before_heatmaps_is_upgraded_in_place(deployment):
    """A project made before review tasks showed heatmaps: its old tasks lack `$heatmaps`. The sync keeps
    pushing into it as it is; `labelstudio setup --update-config` replaces the config over the old tasks."""
    from feedback.tasks import LABEL_CONFIG

    old_config = LABEL_CONFIG.replace('<HyperText name="heatmaps" value="$heatmaps" inline="true"/>', "")
    assert old_config != LABEL_CONFIG
    project = deployment.ls_client.sdk.projects.create(title=deployment.title, label_config=old_config)
    old = check_on_page(deployment, jpeg(astronaut(), quality=81), "https://example.com/a")
    dispute(deployment, old, "fake")
    assert run_cli(deployment.env, "sync").returncode == 0          # pushed into the old config as it is
    old_task = task_of(deployment, old)
    deployment.ls_client.http.patch(f"/api/tasks/{old_task.id}", json={"data": {
        key: value for key, value in raw_task(deployment, old_task.id)["data"].items() if key != "heatmaps"}})
    assert "heatmaps" not in raw_task(deployment, old_task.id)["data"]       # as the version before made it

    result = run_cli(deployment.env, "labelstudio", "setup", "--update-config")
    assert result.returncode == 0, result.stderr
    assert "labeling config updated" in result.stdout
    assert deployment.ls_client.sdk.projects.get(project.id).label_config.split() == LABEL_CONFIG.split()
    new = check_on_page(deployment, jpeg(astronaut(), quality=79), "https://example.com/b")
    dispute(deployment, new, "real")
    assert run_cli(deployment.env, "sync").returncode == 0
    assert raw_task(deployment, task_of(deployment, new).id)["data"]["heatmaps"].startswith("<p")
    answer(deployment, old_task.id, "Fake", reviewer(deployment, "old"))   # the old task is still reviewable
    assert run_cli(deployment.env, "sync").returncode == 0
    assert review_of(deployment, old)["status"] == "relabeled"
