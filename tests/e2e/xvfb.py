"""A virtual screen (xvfb-run) with headed Chromium on it, and real mouse and keyboard input (xdotool).

Playwright's own input goes through the page, which never opens the browser's native context
menu; xdotool's goes through the X server, as a person's would.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from PIL import ImageGrab
from playwright.sync_api import Page

from tests.e2e.browser import SCREENSHOTS

SCREEN = "1280x900x24"
TOOLS = ("xvfb-run", "xdotool")
MENU_WAIT_S = 5


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


class VirtualScreen:
    """An X display from xvfb-run, kept open until `close()`."""

    def __init__(self) -> None:
        # xvfb-run starts Xvfb, runs the command, and stops Xvfb when the command ends: the command
        # prints the display's address and then waits for its standard input to close.
        self._process = subprocess.Popen(
            ["xvfb-run", "--auto-servernum", "--server-args", f"-screen 0 {SCREEN}",
             "sh", "-c", 'echo "$DISPLAY $XAUTHORITY"; read _'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self._process.stdout.readline().split()
        if len(line) != 2:
            self.close()
            raise RuntimeError("xvfb-run did not start a display")
        self.display, self.xauthority = line
        self.env = dict(os.environ, DISPLAY=self.display, XAUTHORITY=self.xauthority)

    def xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, check=True, capture_output=True, text=True).stdout

    def grab(self, box: tuple[int, int, int, int] | None = None):
        """The screen as a Pillow image (native menus included), or the part of it in `box`."""
        previous = os.environ.get("XAUTHORITY")
        os.environ["XAUTHORITY"] = self.xauthority  # Pillow's X11 grab reads it from the environment
        try:
            return ImageGrab.grab(bbox=box, xdisplay=self.display)
        finally:
            if previous is None:
                os.environ.pop("XAUTHORITY")
            else:
                os.environ["XAUTHORITY"] = previous

    def save(self, name: str) -> Path:
        """A screenshot of the whole screen into test-artifacts/screenshots."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.grab().save(path)
        return path

    def _page_offset(self, page: Page) -> tuple[float, float]:
        """Where the page's viewport starts on the screen, measured with a real mouse move."""
        page.evaluate("window.__pointer = null; addEventListener('mousemove', e => window.__pointer = [e.clientX, e.clientY])")
        for x, y in ((640, 600), (642, 602)):  # two moves: the first may only enter the window
            self.xdotool("mousemove", str(x), str(y))
            time.sleep(0.2)
        pointer = page.evaluate("window.__pointer")
        assert pointer, "the page saw no mouse move: is the browser window on the virtual screen?"
        return 642 - pointer[0], 602 - pointer[1]

    def right_click(self, page: Page, selector: str) -> None:
        """Right-click the middle of an element, and wait until the page saw the context-menu event."""
        page.bring_to_front()
        left, top = self._page_offset(page)
        box = page.locator(selector).bounding_box()
        page.evaluate("window.__menuOn = null; addEventListener('contextmenu', e => window.__menuOn = e.target.id)")
        x, y = round(left + box["x"] + box["width"] / 2), round(top + box["y"] + box["height"] / 2)
        self.xdotool("mousemove", str(x), str(y))
        time.sleep(0.2)
        # The menu opens below and to the right of the pointer: watch that patch of screen change.
        patch = (x + 8, y + 8, x + 160, y + 80)
        before = self.grab(patch).tobytes()
        self.xdotool("click", "3")
        page.wait_for_function("window.__menuOn !== null", timeout=MENU_WAIT_S * 1000)
        assert page.evaluate("window.__menuOn") == selector.lstrip("#"), "the right-click landed on another element"
        deadline = time.monotonic() + MENU_WAIT_S
        while self.grab(patch).tobytes() == before:
            assert time.monotonic() < deadline, "no context menu appeared on the screen"
            time.sleep(0.05)
        time.sleep(0.3)  # let it finish drawing and take the keyboard

    def choose_extension_item(self, ups: int = 2) -> float:
        """Pick our item in the open menu, by keyboard; returns the time of the choice.

        Chromium's image menu ends with the extension items, a separator, then "Inspect": Up from
        the bottom reaches "Inspect" first, then our item (the only extension item on images). The
        page's menu ends with ours, a separator, "View page source" and "Inspect": three Ups there.
        native-menu.png in test-artifacts/screenshots shows the menu if this ever changes.
        """
        for key in ["Up"] * ups:
            self.xdotool("key", key)
            time.sleep(0.15)
        chosen = time.perf_counter()
        self.xdotool("key", "Return")
        return chosen

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()  # ends `read`, so xvfb-run stops Xvfb and cleans up
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
