"""Fixtures of the retraining tests: the tiny base data, its champion and a deployment (tests/retraining_loop.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.tiny_data import write_tiny_set
from tests.retraining_loop import CHAMPION, SIZE, Loop, build_tiny_champion


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """The base data: Train 24 + 24, Validation 8 + 8, Test (the fixed base holdout) 16 + 16."""
    return write_tiny_set(tmp_path_factory.mktemp("base"), 24, size=SIZE, seed=0, splits={"Validation": 8, "Test": 16})


@pytest.fixture(scope="session")
def tiny_champion(tmp_path_factory, tiny_base) -> Path:
    return build_tiny_champion(tiny_base, tmp_path_factory.mktemp("champion") / CHAMPION)


@pytest.fixture
def loop(tmp_path, tiny_base, tiny_champion) -> Loop:
    return Loop(tmp_path, tiny_base, tiny_champion)
