"""``python -m bench``: the JSON shape, and an area that fails is reported, not fatal."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import bench.__main__ as orchestrator

ROOT = Path(__file__).resolve().parents[2]


def test_quick_json_prints_one_object_with_figures_and_machine() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", "--only", "drivers,search"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert set(out) == {"figures", "machine"}
    assert out["machine"]["cores"] and out["machine"]["mode"] == "quick"
    for fig in out["figures"]:
        assert {"name", "value", "unit", "target", "ok"} <= set(fig)
        if fig["target"] is not None:
            assert isinstance(fig["ok"], bool)
    names = {f["name"]: f for f in out["figures"]}
    assert names["drivers.pty_latency_p99"]["value"] > 0
    # quick mode does not measure the 1M-permit figures: reported, never ok
    skipped = names["search.sqlite_1m_search_p95"]
    assert skipped["value"] is None and skipped["ok"] is False and "quick" in skipped["note"]


def test_a_failing_area_is_reported_as_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.ModuleType("bench.broken")

    def run(quick: bool) -> list[object]:
        raise OSError("no pty here")

    broken.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.broken", broken)
    monkeypatch.setitem(orchestrator.AREAS, "broken", [("broken.latency_p99", "ms", "< 50")])
    (fig,) = orchestrator.run_area("broken", quick=True)
    assert fig.value is None and fig.ok is False
    assert fig.note is not None and "no pty here" in fig.note


def test_a_missing_area_is_reported_as_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(orchestrator.AREAS, "absent", [("absent.figure", "s", "< 3")])
    (fig,) = orchestrator.run_area("absent", quick=True)
    assert fig.ok is False and fig.note is not None and "could not be imported" in fig.note


def test_a_figure_is_judged_against_the_target_it_is_owed() -> None:
    from bench import AREAS, judged

    assert orchestrator.AREAS is AREAS  # one table of targets
    met = judged("province.events_lost", 0)
    assert (met.unit, met.target, met.ok) == ("events", "== 0", True)
    assert judged("province.events_lost", 1).ok is False
    assert judged("server.ingest_vs_floor", 0.7).ok is True
    assert judged("server.ingest_vs_floor", 0.69).ok is False
    assert judged("province.alarm_during_catchup_p99", 2.0).ok is False  # "< 2"
    assert judged("province.day_ingest_minutes", 5.0).ok is True  # "<= 5"
    # not measured, or measured but not whole (an alarm never seen): never ok
    assert judged("province.day_ingest_minutes", None).ok is False
    assert judged("province.alarm_during_catchup_p99", 0.1, ok=False).ok is False
    with pytest.raises(KeyError):
        judged("province.not_owed", 1)


def test_the_cpu_split_counts_an_ended_worker_once() -> None:
    """The storm's CPU split (bench.support.cpu): a worker killed within the stretch is
    counted through its parent's reaped-children time, less what it had spent before
    the stretch; the rest of the machine's busy time is ``other``."""
    from bench.support.cpu import Snapshot, snapshot, spent

    before = Snapshot(
        busy=100.0,
        idle=50.0,
        processes={
            1: ("server", 1.0),  # the supervisor (its own + reaped children's)
            2: ("server", 4.0),  # a worker, killed within the stretch
            3: ("server", 2.0),  # a worker that lives on
            4: ("postgresql", 3.0),
            5: ("bench", 5.0),
        },
    )
    after = Snapshot(
        busy=120.0,
        idle=52.0,
        processes={
            1: ("server", 1.0 + 6.0),  # the killed worker's 6 s in all, now reaped
            3: ("server", 5.0),
            4: ("postgresql", 5.0),
            5: ("bench", 7.0),
            6: ("server", 1.0),  # the replacement, started within the stretch
        },
    )
    split = spent(before, after)
    # 2 s more of the killed worker, 3 of the live one, 1 of the replacement.
    assert split == {"server": 6.0, "postgresql": 2.0, "bench": 2.0, "other": 10.0, "idle": 2.0}
    live = snapshot()  # reads this machine's /proc: this process is the bench
    assert any(kind == "bench" for kind, _ in live.processes.values())
    assert live.busy > 0 and live.idle >= 0
