"""Fixtures for the browser tests: real servers, small web sites, Chromium with the extension."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.e2e.browser import CHROMIUM, EXTENSION_ORIGIN, Extension, launch
from tests.e2e.servers import start_server
from tests.e2e.sites import Site
from tests.e2e.xvfb import VirtualScreen, missing_tools

API_KEY = "e2e-key-0123456789"
# Small enough that a test image can exceed it (413), large enough for every other test image.
MAX_UPLOAD_BYTES = 1_500_000
CLICK_TO_OVERLAY: list[tuple[str, float, float]] = []  # label, to progress, to result
PAGE_SCAN: list[tuple[str, dict]] = []  # label, figures of one page scan (tests/e2e/test_page_scan.py)


def pytest_collection_modifyitems(config, items):
    # CI installs Chromium (scripts/test.sh): there a missing browser fails the tests (see `context`).
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if CLICK_TO_OVERLAY:
        terminalreporter.section("click-to-overlay times (progress shown, result shown)")
        for label, progress, result in CLICK_TO_OVERLAY:
            terminalreporter.write_line(f"{label:<44} {progress * 1000:6.0f} ms {result * 1000:7.0f} ms")
        results = sorted(result for _, _, result in CLICK_TO_OVERLAY)
        terminalreporter.write_line(f"{'median / max to result':<44} {'':9} {results[len(results) // 2] * 1000:7.0f} ms"
                                    f" / {results[-1] * 1000:.0f} ms")
    if PAGE_SCAN:
        terminalreporter.section("page scans")
        for label, figures in PAGE_SCAN:
            terminalreporter.write_line(f"{label}: " + ", ".join(f"{name} {value}" for name, value in figures.items()))


@pytest.fixture
def timings():
    return CLICK_TO_OVERLAY


@pytest.fixture(scope="session")
def dfg_server(tmp_path_factory):
    """The real server with the shipped model."""
    server = start_server(tmp_path_factory.mktemp("dfg-server"), API_KEY, extension_origins=EXTENSION_ORIGIN,
                          max_upload_bytes=MAX_UPLOAD_BYTES)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def forced_server(tmp_path_factory):
    """A server whose model copy always answers one verdict, started on first use: forced_server("fake")."""
    from tests.conftest import forced_model

    # (uncertain band, threshold) that force each verdict whatever the model outputs.
    forcing = {"fake": ((0.0, 0.0), 0.0), "real": ((1.0, 1.0), 1.0), "uncertain": ((0.0, 1.0), 0.5)}
    servers = {}

    def get(verdict: str):
        if verdict not in servers:
            folder = tmp_path_factory.mktemp(f"dfg-forced-{verdict}")
            band, threshold = forcing[verdict]
            model_dir = forced_model(folder, band, threshold, version=f"forced-{verdict}")
            servers[verdict] = start_server(folder, API_KEY, extension_origins=EXTENSION_ORIGIN, model_dir=model_dir)
        return servers[verdict]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture
def site():
    """A web site with the pages and images a test adds to it."""
    site = Site().start()
    yield site
    site.stop()


@pytest.fixture
def other_site():
    """A second origin: an image host, or a CDN."""
    site = Site().start()
    yield site
    site.stop()


@pytest.fixture
def context(playwright, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; scripts/test.sh installs it (apt-get install chromium)")
    context = launch(playwright, tmp_path / "profile")
    yield context
    context.close()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.fixture
def extension(context, dfg_server):
    """The extension, set up for the real server."""
    extension = Extension(context)
    extension.configure(dfg_server.url, dfg_server.api_key)
    return extension


@pytest.fixture
def xvfb_browser(playwright, tmp_path, dfg_server):
    """Headed Chromium with the extension on a virtual screen, and the screen to drive it."""
    missing = missing_tools()
    if missing:
        reason = f"{' and '.join(missing)} not installed (apt-get install xvfb xdotool)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; scripts/test.sh installs them for CI")
        pytest.skip(reason)
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; scripts/test.sh installs it (apt-get install chromium)")
    screen = VirtualScreen()
    context = None
    try:
        context = launch(playwright, tmp_path / "profile-headed", headless=False, env=screen.env,
                         extra_args=("--window-position=0,0", "--window-size=1280,900"))
        extension = Extension(context)
        extension.configure(dfg_server.url, dfg_server.api_key)
        yield screen, extension
    finally:
        if context is not None:
            context.close()
        screen.close()
