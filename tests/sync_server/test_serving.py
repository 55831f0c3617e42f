"""The worker process tuned for serving (sync_server/serving.py): start-up's objects
frozen out of the collector's passes, its young generation collected less often, and
the app several workers build (uvicorn's factory) built that way."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from sync_server import serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_tuning_freezes_what_start_up_made_and_collects_the_young_less_often(
    restored_gc: None,
) -> None:
    gc.unfreeze()
    gen0, gen1, gen2 = gc.get_threshold()
    assert gen0 < serving.SERVING_GEN0
    serving.tune_for_serving()
    assert gc.get_freeze_count() > 1000  # the modules, the app, their objects
    assert gc.get_threshold() == (serving.SERVING_GEN0, gen1, gen2)
    assert gc.isenabled()  # cycles are still found


def test_the_app_each_worker_builds_is_tuned(
    restored_gc: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSPERMIT_DB_URL", f"sqlite:///{tmp_path / 'served.db'}")
    gc.unfreeze()
    app = serving.served_app()
    try:
        assert isinstance(app, FastAPI)
        assert gc.get_threshold()[0] == serving.SERVING_GEN0
        assert gc.get_freeze_count() > 1000
    finally:
        app.state.engine.dispose()
