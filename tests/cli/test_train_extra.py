"""Commands that need the `train` extra say which extra to install when it is missing, instead of a traceback."""
from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from cli import main

REAL_FIND_SPEC = importlib.util.find_spec


@pytest.fixture
def without_tensorflow(monkeypatch):
    """An installation without TensorFlow, as a base install is (the lookup is the outer edge faked here)."""
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "tensorflow" else REAL_FIND_SPEC(name, *args))


@pytest.mark.parametrize("command", [["evaluate"], ["train", "--synthetic"], ["retrain"],
                                     ["add-landmark-head", "--data", "."], ["models", "import", "pyproject.toml"]])
def test_a_command_that_needs_the_train_extra_says_which_to_install(without_tensorflow, command, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("DFG_INSTANCE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1, result.output
    assert "needs the train extra" in result.output and "missing: tensorflow" in result.output
    assert "deepfake-guard[train]" in result.output and "Traceback" not in result.output


def test_with_the_extra_installed_nothing_is_missing():
    from models import missing_train_packages

    assert missing_train_packages() == []
