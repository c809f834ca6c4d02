"""The extension as shipped: its fixed ID, its permissions, and `deepfake-guard extension pack`."""
from __future__ import annotations

import json
import re
import zipfile

import pytest
from click.testing import CliRunner

from cli.extension import extension
from server.extension_rollout import extension_id
from tests.e2e.browser import EXTENSION_DIR, EXTENSION_ID, Extension, launch

MANIFEST = json.loads((EXTENSION_DIR / "manifest.json").read_text())
README = (EXTENSION_DIR / "README.md").read_text()


def injected_scripts() -> list[str]:
    """The content scripts the worker injects (background/overlay-channel.js)."""
    source = (EXTENSION_DIR / "background" / "overlay-channel.js").read_text()
    return re.findall(r'"(content/[\w-]+\.js)"', source)


def test_manifest_key_fixes_the_documented_extension_id():
    assert extension_id(MANIFEST["key"]) == EXTENSION_ID
    assert f"DFG_EXTENSION_ORIGINS=chrome-extension://{EXTENSION_ID}" in README


def test_permissions_are_the_ones_the_readme_justifies():
    assert sorted(MANIFEST["permissions"]) == ["activeTab", "contextMenus", "scripting", "storage"]
    assert MANIFEST["host_permissions"] == ["http://*/*", "https://*/*"]
    for permission in MANIFEST["permissions"] + MANIFEST["host_permissions"]:
        assert f"`{permission}`" in README, f"extension/README.md does not explain {permission}"
    assert "content_scripts" not in MANIFEST  # injected on demand, never into every page


def test_pack_writes_what_chrome_loads_and_nothing_else(tmp_path):
    out = tmp_path / "extension.zip"
    result = CliRunner().invoke(extension, ["pack", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert EXTENSION_ID in result.output
    names = set(zipfile.ZipFile(out).namelist())
    assert {"manifest.json", MANIFEST["background"]["service_worker"], "popup/popup.html", "options/options.html",
            *MANIFEST["icons"].values(), *injected_scripts()} <= names
    assert not [name for name in names if re.search(r"node_modules|package|eslint|README|tools/", name)]
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["key"] == MANIFEST["key"]

    again = tmp_path / "again.zip"
    CliRunner().invoke(extension, ["pack", "--out", str(again)])
    assert again.read_bytes() == out.read_bytes()  # reproducible: the same source packs to the same bytes


def test_pack_for_the_store_leaves_out_the_key(tmp_path):
    out = tmp_path / "store.zip"
    result = CliRunner().invoke(extension, ["pack", "--for-store", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "key" not in json.loads(zipfile.ZipFile(out).read("manifest.json"))


def test_pack_is_a_deepfake_guard_command():
    from cli import main

    assert main.commands["extension"].commands["pack"] is not None


@pytest.mark.e2e
def test_packed_zip_loads_in_chromium_with_the_same_id(playwright, tmp_path):
    out = tmp_path / "extension.zip"
    assert CliRunner().invoke(extension, ["pack", "--out", str(out)]).exit_code == 0
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    context = launch(playwright, tmp_path / "profile", extension_dir=unpacked)
    try:
        loaded = Extension(context)
        assert loaded.worker.url == f"chrome-extension://{EXTENSION_ID}/{MANIFEST['background']['service_worker']}"
        assert loaded.worker.evaluate("chrome.runtime.getManifest().version") == MANIFEST["version"]
    finally:
        context.close()
