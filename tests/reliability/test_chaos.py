"""Sync chaos and crash safety of both SQLite stores, with real processes (see chaos.py):
a real uvicorn server killed with SIGKILL mid-batch and restarted under duplicated,
reordered, truncated and dropped pushes; the tablet's store killed mid-write. A few
seeded runs here; ``python -m tests.reliability.chaos --runs N`` for more."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.chaos import server_run, tablet_run


@pytest.mark.parametrize("seed", [11])
def test_server_chaos_loses_and_duplicates_nothing(tmp_path: Path, seed: int) -> None:
    fig = server_run(tmp_path, seed, kill_p=0.3)
    assert fig.unexpected == []
    assert (fig.lost, fig.duplicated, fig.chains_broken) == (0, 0, 0)
    assert fig.chains_verified == 4
    assert fig.server_kills >= 1 and fig.integrity_checks == fig.server_kills + 1
    assert fig.duplicates_sent > 0 and fig.reordered_batches > 0


@pytest.mark.parametrize("seed", [21, 22])
def test_tablet_store_killed_mid_write_keeps_every_commit(tmp_path: Path, seed: int) -> None:
    fig = tablet_run(tmp_path, seed)
    assert fig.unexpected == []
    assert fig.tablet_kills == 1, "the writer finished before it could be killed"
    assert fig.committed_before_kill > 0
    assert (fig.lost, fig.chains_broken) == (0, 0)
    assert fig.chains_verified >= 3
