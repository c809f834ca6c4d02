""""Why?" on a face box: the server's heatmap of that face drawn over it, with a one-line legend; again hides it."""
from __future__ import annotations

import numpy as np
import pytest
import requests

from tests.e2e.browser import OVERLAY, screenshot_overlay, wait_for_overlay
from tests.e2e.pages import COFFEE, open_photo_page

pytestmark = pytest.mark.e2e

# The canvas's pixels (RGBA) and its box on the page, read in the overlay's shadow root.
READ_CANVAS = """host => {
  const canvas = host.shadowRoot.querySelector("canvas.heatmap");
  if (!canvas) return null;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const box = canvas.getBoundingClientRect();
  return { size: canvas.width, cells: Number(canvas.dataset.cells), pixels: Array.from(pixels),
           box: { x: box.x, y: box.y, width: box.width, height: box.height } };
}"""


def _server_heatmap(server, check_id: str, face: int | None) -> dict:
    query = "" if face is None else f"?face={face}"
    response = requests.get(f"{server.url}/api/v1/checks/{check_id}/explanation{query}",
                            headers={"Authorization": f"Bearer {server.api_key}"}, timeout=60)
    response.raise_for_status()
    return response.json()["faces"][0]["heatmap"]


def test_why_draws_the_served_heatmap_over_the_face_and_hides_it_again(extension, dfg_server, site, timings):
    extension.configure(dfg_server.url, dfg_server.api_key)
    page = open_photo_page(extension, site)
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "why: check before the heatmap")
    check_id = root.get_attribute("data-deepfake-guard-check")

    page.locator(f"{OVERLAY} .face .why").first.click()
    page.locator(f'{OVERLAY}[data-deepfake-guard-explain="0"]').wait_for(state="attached", timeout=60_000)
    legend = page.locator(f"{OVERLAY} .explain-legend").inner_text()
    assert legend.startswith("Why, for the face:") and "not proof" in legend
    drawn = root.evaluate(READ_CANVAS)
    served = _server_heatmap(dfg_server, check_id, 0)
    # the canvas shows the served cells, smoothed: its opacity at each cell's centre follows the cell's value
    alpha = np.asarray(drawn["pixels"]).reshape(drawn["size"], drawn["size"], 4)[..., 3]
    step = drawn["size"] / served["size"]
    centres = (np.arange(served["size"]) * step + step / 2).astype(int)
    sampled = alpha[np.ix_(centres, centres)].astype(float)
    assert drawn["cells"] == served["size"] and sampled.max() > 150
    assert np.corrcoef(sampled.reshape(-1), np.asarray(served["values"]).reshape(-1))[0, 1] > 0.9
    # drawn over the face's crop square: the face box lies inside the canvas's box
    face = page.locator(f"{OVERLAY} .face").first.bounding_box()
    canvas = drawn["box"]
    assert canvas["x"] <= face["x"] + 1 and canvas["y"] <= face["y"] + 1
    assert face["x"] + face["width"] <= canvas["x"] + canvas["width"] + 1
    assert face["y"] + face["height"] <= canvas["y"] + canvas["height"] + 1
    assert page.locator(f"{OVERLAY} .face .why").first.get_attribute("aria-pressed") == "true"
    screenshot_overlay(page, "#photo", "overlay-why")

    page.locator(f"{OVERLAY} .face .why").first.click()                 # again: hidden
    assert root.evaluate(READ_CANVAS) is None
    assert root.get_attribute("data-deepfake-guard-explain") is None
    assert page.locator(f"{OVERLAY} .explain-legend").is_hidden()


def test_why_on_an_image_without_a_face_explains_the_whole_image(extension, dfg_server, site, timings):
    extension.configure(dfg_server.url, dfg_server.api_key)
    page = open_photo_page(extension, site, body=COFFEE, name="coffee.jpg", width=450, height=300)
    clicked = extension.dispatch_check(page, "#photo")
    root = wait_for_overlay(page, clicked, timings, "why: no face")
    assert page.locator(f"{OVERLAY} .face").count() == 0
    page.locator(f"{OVERLAY} .why-image").click()
    page.locator(f'{OVERLAY}[data-deepfake-guard-explain="image"]').wait_for(state="attached", timeout=60_000)
    drawn = root.evaluate(READ_CANVAS)
    photo = page.locator("#photo").bounding_box()
    assert abs(drawn["box"]["width"] - photo["width"]) <= 1 and abs(drawn["box"]["height"] - photo["height"]) <= 1
    assert "the whole image" in page.locator(f"{OVERLAY} .explain-legend").inner_text()
