"""A reviewer in Label Studio's own web UI, in Debian's Chromium at 1400×900: logs in, opens a disputed task,
sees the model's verdict in the header and the choices without scrolling, picks one with the mouse, submits."""
from __future__ import annotations

import time

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.images import astronaut, jpeg
from tests.integration.review_helpers import check_on_page, dispute, raw_task, review_of, task_of
from tests.integration.services import run_cli

pytestmark = [pytest.mark.labelstudio, pytest.mark.e2e]
VIEWPORT = {"width": 1400, "height": 900}
USER, PASSWORD = "admin@example.com", "dfg-admin-password"    # scripts/labelstudio.sh defaults


def _in_view(box: dict | None) -> bool:
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]


def test_reviewer_labels_a_dispute_in_the_label_studio_ui(deployment, playwright):
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}")
    check = check_on_page(deployment, jpeg(astronaut(), quality=86), "https://news.example.com/story/7")
    dispute(deployment, check, "fake", "the face looks pasted")
    assert run_cli(deployment.env, "labelstudio", "setup").returncode == 0
    assert run_cli(deployment.env, "sync").returncode == 0
    task = task_of(deployment, check)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{deployment.ls.url}/user/login")
        page.fill("input[name=email]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/user/login" not in url, timeout=60_000)
        page.goto(f"{deployment.ls.url}/projects/{deployment.project_id()}/data?task={task.id}")

        header = page.get_by_role("heading", name=f"Model {check['model_version']} says")
        header.wait_for(timeout=60_000)
        page.get_by_role("heading", name="Disputed: the user says this image is FAKE").wait_for()
        page.get_by_role("link", name="https://news.example.com/story/7").wait_for()
        time.sleep(1)                                           # the image and the boxes settle
        page.screenshot(path=str(SCREENSHOTS / "review-task.png"))

        choices = {name: page.locator("label:has(input[type=radio])").filter(has_text=name).first
                   for name in ("Real", "Fake", "Can't tell")}
        radios = {name: choice.locator("input[type=radio]") for name, choice in choices.items()}
        assert not any(radio.is_checked() for radio in radios.values())      # nothing pre-ticked
        boxes = {name: choice.bounding_box() for name, choice in choices.items()}
        submit = page.get_by_role("button", name="Submit")
        assert all(_in_view(box) for box in boxes.values()), boxes   # no scrolling needed at 1400×900
        assert _in_view(header.bounding_box()) and _in_view(submit.bounding_box())

        fake = boxes["Fake"]
        page.mouse.click(fake["x"] + fake["width"] / 2, fake["y"] + fake["height"] / 2)
        assert radios["Fake"].is_checked()
        page.mouse.click(fake["x"] + fake["width"] / 2, fake["y"] + fake["height"] / 2)
        assert radios["Fake"].is_checked() and not radios["Real"].is_checked()   # a second click keeps it
        page.screenshot(path=str(SCREENSHOTS / "review-task-chosen.png"))
        # where the model looked: the face's crop with its heatmap, under the image, decoded and shown
        heatmap = page.locator('img[alt^="Heatmaps, left to right: face 1: fake score"]')
        heatmap.scroll_into_view_if_needed()
        assert heatmap.is_visible() and heatmap.evaluate("image => image.naturalWidth") == 160
        page.locator("p").filter(has_text="Where the model looked. Brighter").first.wait_for()
        page.screenshot(path=str(SCREENSHOTS / "review-task-heatmap.png"), full_page=True)
        submit.click()
        deadline = time.monotonic() + 30
        while not raw_task(deployment, task.id)["annotations"] and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        browser.close()

    [annotation] = raw_task(deployment, task.id)["annotations"]
    assert [r["value"]["choices"] for r in annotation["result"] if r["type"] == "choices"] == [["Fake"]]
    assert run_cli(deployment.env, "sync").returncode == 0
    review = review_of(deployment, check)
    assert review["status"] == "relabeled" and review["label"] == "fake"
