"""scripts/labelstudio.sh keeps Label Studio's data unless a wipe is confirmed (--yes, or "yes" at a terminal)."""
from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "labelstudio.sh"


def _run(home: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "LS_HOME": str(home), "LS_VENV": str(home / "no-venv")}
    return subprocess.run(["bash", str(SCRIPT), *arguments], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def _home_with_data(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "label_studio.sqlite3").write_text("reviews")
    return tmp_path


def test_a_wipe_without_confirmation_is_refused_and_keeps_the_data(tmp_path):
    home = _home_with_data(tmp_path)
    for arguments in (("wipe",), ("start", "--wipe"), ("restart", "--wipe")):
        result = _run(home, *arguments)
        assert result.returncode != 0 and "--yes" in result.stderr, (arguments, result.stderr)
        assert (home / "data" / "label_studio.sqlite3").read_text() == "reviews"


def test_a_confirmed_wipe_deletes_the_data(tmp_path):
    home = _home_with_data(tmp_path)
    result = _run(home, "wipe", "--yes")
    assert result.returncode == 0 and "wiped" in result.stderr and not (home / "data").exists()


def test_wipe_goes_only_with_start_or_restart(tmp_path):
    home = _home_with_data(tmp_path)
    result = _run(home, "stop", "--wipe", "--yes")
    assert result.returncode != 0 and "--wipe goes with start or restart" in result.stderr
    assert (home / "data").exists()
    assert _run(home, "start", "--force").returncode == 2         # unknown flags are refused, not ignored
