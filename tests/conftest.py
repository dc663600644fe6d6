from __future__ import annotations

from pathlib import Path

import pytest

import trackio_callback
from tests.browser import browser_fixture, page_fixture  # noqa: F401  (the `browser` and `page` fixtures)
from tests.hub_emulator import hub_fixture  # noqa: F401  (the `hub` fixture)
from trackio_callback.core import run as run_module


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test gets its own storage dir and no leftover current run or env configuration."""
    for variable in (
        "TRACKIO_PROJECT",
        "TRACKIO_SPACE_ID",
        "TRACKIO_DATASET_ID",
        "TRACKIO_SQLITE_JOURNAL",
        "TRACKIO_DEADLINE",  # a job's time limit (a test run under SLURM has one) would alert in every Trainer test
        "SLURM_JOB_END_TIME",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "store"))
    yield
    current = trackio_callback.current_run()
    if current is not None:
        current.finish()
    run_module._set_current(None)


@pytest.fixture
def store_dir(tmp_path) -> Path:
    return tmp_path / "store"
