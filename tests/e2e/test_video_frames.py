""""Check this video frame": the frame on screen (or a few) checked like an image, in real Chromium, on videos
made with ffmpeg at test time; every frame checked is matched to the server's stored check and its picture."""
from __future__ import annotations

import math
import os
import shutil
import time

import pytest

from tests.e2e.browser import OVERLAY, REPO, screenshot_overlay, wait_for_overlay
from tests.e2e.videos import SIZE, FaceVideo, black_video, face_video, missing_ffmpeg, picture

pytestmark = pytest.mark.e2e

VIDEO_ITEM = "check-video-frame"
CLOSE_MEAN_ERROR = 3.0      # of 255: the picture the server got is the decoded frame (a PNG of it, unchanged)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> FaceVideo:
    if missing_ffmpeg():
        if os.environ.get("CI"):
            pytest.fail("ffmpeg is missing; scripts/test.sh installs it (apt-get install ffmpeg)")
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return face_video(tmp_path_factory.mktemp("video"))


def percent(probability: float) -> str:
    return f"{math.floor(probability * 100 + 0.5)}%"


def clock(seconds: float, tenths: bool = False) -> str:
    if tenths:
        tenth = math.floor(seconds * 10 + 0.5)
        return f"{tenth // 600:02d}:{tenth // 10 % 60:02d}.{tenth % 10}"
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def open_video_page(extension, site, webm: bytes, *, src_site=None, paused_at: float | None = 1.0, playing=False,
                    shown: int = SIZE):
    """A page with <video id="clip"> (`shown` CSS px square) from `src_site` (default: the page's own), loaded and
    either paused at `paused_at` or playing (muted, looped)."""
    source = (src_site or site).add("/clip.webm", webm, "video/webm")
    page_url = site.add("/watch", f'<h1>A video</h1><video id="clip" src="{source}" width="{shown}" height="{shown}" '
                                  'muted playsinline loop preload="auto" style="margin: 40px; display: block"></video>')
    page = extension.context.new_page()
    page.goto(page_url)
    page.wait_for_function("document.querySelector('#clip').readyState >= 2", timeout=15_000)
    if playing:
        page.locator("#clip").evaluate("video => video.play()")
        page.wait_for_function("document.querySelector('#clip').currentTime > 0.2", timeout=15_000)
    else:
        page.locator("#clip").evaluate("""(video, at) => new Promise(resolve => {
            video.addEventListener('seeked', resolve, { once: true }); video.currentTime = at; })""", paused_at)
    return page


def server_picture(server, check: dict):
    """The picture the server received for a check, from its image cache."""
    sha = check["image"]["sha256"]
    return picture((server.instance_dir / "images" / "cache" / sha[:2] / sha).read_bytes())


def received_images(server) -> set[str]:
    """Every image the server was sent (its cache keeps each checked image)."""
    return {path.name for path in (server.instance_dir / "images" / "cache").glob("*/*")}


def assert_frame_is_the_video_at_its_time(server, video: FaceVideo, check: dict, slack: int = 0,
                                          tolerance: float = CLOSE_MEAN_ERROR) -> None:
    found, error = video.closest(server_picture(server, check))
    expected = video.frame_at(check["video"]["time"])
    assert abs(found - expected) <= slack, f"frame {found} was sent for {check['video']['time']} s (frame {expected})"
    assert error < tolerance, f"the picture differs from frame {found} by {error:.1f} of 255 on average"


def listed_frames(page) -> list[tuple[str, str, bool]]:
    """(check id, text, shown) of each frame the overlay lists."""
    items = page.locator(f"{OVERLAY} .frames li")
    return [(items.nth(i).get_attribute("data-check"), items.nth(i).inner_text(),
             "shown" in (items.nth(i).get_attribute("class") or "")) for i in range(items.count())]


def history(extension) -> list[dict]:
    return extension.storage("checks").get("checks") or []


def test_paused_video_is_stepped_around_the_moment_and_each_frame_is_the_servers_check(
        extension, dfg_server, site, video, timings):
    extension.set_storage(videoFrames=3)
    page = open_video_page(extension, site, video.webm, paused_at=1.0)

    clicked = extension.dispatch_check(page, "#clip", menu_item=VIDEO_ITEM)
    root = wait_for_overlay(page, clicked, timings, "video frame: paused, 3 frames")

    listed = listed_frames(page)
    checks = [dfg_server.get_check(check_id) for check_id, _, _ in listed]
    assert [check["video"]["time"] for check in checks] == pytest.approx([0.5, 1.0, 1.5], abs=0.01)
    assert len({check["video"]["group"] for check in checks}) == 1
    for (check_id, text, _), check in zip(listed, checks):
        assert check["id"] == check_id
        assert check["source_url"] == site.url("/clip.webm") and check["page_url"] == site.url("/watch")
        assert (check["image"]["width"], check["image"]["height"]) == (SIZE, SIZE)   # the video's own size
        assert text == f"{clock(check['video']['time'], tenths=True)} {percent(check['fake_probability'])}"
        assert_frame_is_the_video_at_its_time(dfg_server, video, check)
    # The most suspicious frame is the one shown, with its faces on the video.
    shown = max(checks, key=lambda check: check["fake_probability"])
    assert [check_id for check_id, _, is_shown in listed if is_shown] == [shown["id"]]
    assert root.get_attribute("data-deepfake-guard-check") == shown["id"]
    assert root.get_attribute("data-deepfake-guard-verdict") == shown["verdict"]
    assert page.locator(f"{OVERLAY} .percent").inner_text() == percent(shown["fake_probability"])
    assert page.locator(f"{OVERLAY} .video-line").inner_text() == (
        f"Video frame at {clock(shown['video']['time'])}, the most suspicious of 3 frames")
    assert page.locator(f"{OVERLAY} .face").count() == len(shown["faces"]) >= 1
    assert page.locator(f"{OVERLAY} .frame").bounding_box() == pytest.approx(page.locator("#clip").bounding_box(), abs=1)
    # The video is left where the user paused it.
    assert page.locator("#clip").evaluate("video => [video.paused, video.currentTime]") == [True, pytest.approx(1.0)]
    [entry] = history(extension)
    assert entry["id"] == shown["id"] and entry["video"] == {"time": shown["video"]["time"], "frames": 3}
    assert entry["thumbnail"].startswith("data:image/jpeg")

    shot = screenshot_overlay(page, "#clip", "overlay-video")
    shutil.copy(shot, REPO / "test-artifacts" / "screenshots" / "overlay-video-latest.png")

    # Disagree works on the frame shown.
    page.locator(f"{OVERLAY} button.disagree").click()
    page.locator(f"{OVERLAY} form.dispute button.send").click()
    page.locator(f"{OVERLAY}[data-deepfake-guard-dispute]").wait_for(state="attached", timeout=15_000)
    disputed = dfg_server.get_check(shown["id"])["dispute"]
    assert disputed["label"] == {"fake": "real", "real": "fake"}.get(shown["verdict"], disputed["label"])


def test_playing_video_gives_frames_as_it_plays(extension, dfg_server, site, video, timings):
    extension.set_storage(videoFrames=2)
    page = open_video_page(extension, site, video.webm, playing=True, shown=640)
    started_at = page.locator("#clip").evaluate("video => video.currentTime")

    clicked = extension.dispatch_check(page, "#clip", menu_item=VIDEO_ITEM)
    wait_for_overlay(page, clicked, timings, "video frame: playing, 2 frames")

    checks = [dfg_server.get_check(check_id) for check_id, _, _ in listed_frames(page)]
    assert len(checks) == 2
    first, second = (check["video"]["time"] for check in checks)
    # Half a second apart as the video played (it loops after 3 s).
    assert (second - first) % 3.0 == pytest.approx(0.5, abs=0.25)
    assert first >= started_at or first < 0.5   # taken after the click (or after the loop restarted)
    for check in checks:
        # Shown larger than its own 512 px, the frame is sent at the size the user sees it.
        assert (check["image"]["width"], check["image"]["height"]) == (640, 640)
        # A playing video's clock runs ahead of the frame drawn; scaled up and back, the picture blurs a little.
        assert_frame_is_the_video_at_its_time(dfg_server, video, check, slack=1, tolerance=2 * CLOSE_MEAN_ERROR)
    assert page.locator("#clip").evaluate("video => !video.paused")


def test_black_video_is_never_sent_and_the_overlay_says_why(extension, dfg_server, site, tmp_path, timings):
    if missing_ffmpeg():
        pytest.skip("ffmpeg is not installed")
    page = open_video_page(extension, site, black_video(tmp_path), paused_at=0.5)
    before = received_images(dfg_server)

    clicked = extension.dispatch_check(page, "#clip", menu_item=VIDEO_ITEM)
    root = wait_for_overlay(page, clicked, timings, "video frame: black video", state="error")

    assert root.get_attribute("data-deepfake-guard-error") == "video-black"
    assert page.locator(f"{OVERLAY} header .label").inner_text() == "The video frame is black"
    assert "protected (DRM)" in page.locator(f"{OVERLAY} .message").inner_text()
    assert received_images(dfg_server) == before and history(extension) == []


def test_video_removed_while_being_checked_leaves_no_overlay_and_loses_no_check(extension, dfg_server, site, video):
    extension.set_storage(videoFrames=4)
    page = open_video_page(extension, site, video.webm, playing=True)

    extension.dispatch_check(page, "#clip", menu_item=VIDEO_ITEM)
    page.locator(f"{OVERLAY} .panel").wait_for(timeout=15_000)
    page.wait_for_timeout(700)   # one or two frames taken of the four, half a second apart
    page.locator("#clip").evaluate("video => video.remove()")

    deadline = time.monotonic() + 30
    while not history(extension) and time.monotonic() < deadline:
        time.sleep(0.2)
    [entry] = history(extension)
    assert 1 <= entry["video"]["frames"] < 4   # the frames taken before it went were checked, no more
    check = dfg_server.get_check(entry["id"])
    assert check["video"]["time"] == entry["video"]["time"]
    assert_frame_is_the_video_at_its_time(dfg_server, video, check, slack=1)
    assert page.locator(OVERLAY).count() == 0   # the overlay went with the video


def test_cross_origin_video_is_read_from_the_screen_on_the_native_menu(xvfb_browser, dfg_server, site, other_site,
                                                                      video, timings):
    """A video from another origin taints a canvas: the frame comes from a capture of the tab (activeTab,
    granted by the real right-click menu), cut to the video's picture."""
    screen, extension = xvfb_browser
    page = open_video_page(extension, site, video.webm, src_site=other_site, paused_at=1.2)
    assert page.locator("#clip").evaluate("""video => { const c = document.createElement('canvas');
        c.getContext('2d').drawImage(video, 0, 0); try { c.toDataURL(); return false; } catch { return true; } }""")

    screen.right_click(page, "#clip")
    screen.save("native-menu-video")
    clicked = screen.choose_extension_item()
    root = wait_for_overlay(page, clicked, timings, "video frame: cross-origin, native menu (Xvfb)")

    check = dfg_server.get_check(root.get_attribute("data-deepfake-guard-check"))
    assert check["video"]["time"] == pytest.approx(1.2, abs=0.01)
    assert check["source_url"] == other_site.url("/clip.webm")
    ratio = page.evaluate("devicePixelRatio")
    assert (check["image"]["width"], check["image"]["height"]) == (round(SIZE * ratio), round(SIZE * ratio))
    found, error = video.closest(server_picture(dfg_server, check))
    assert found == video.frame_at(1.2) and error < 4 * CLOSE_MEAN_ERROR, (found, error)   # the screen's colours
    assert "read from the screen" in page.locator(f"{OVERLAY} .video-note").inner_text()
    assert root.get_attribute("data-deepfake-guard-verdict") == check["verdict"]
