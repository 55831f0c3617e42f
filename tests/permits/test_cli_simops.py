"""`cspermit simops check PLAN.json`: the output JSON and the exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cspermit.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _permit(pid: str, activity: str, x: float, start: str = "08:00", end: str = "12:00") -> Any:
    return {
        "id": pid,
        "type": "hot_work" if activity == "hot_work" else "general",
        "window": [f"2026-12-02T{start}:00+08:00", f"2026-12-02T{end}:00+08:00"],
        "activities": [activity],
        "points": [{"x": x, "y": 0, "z": 0}],
    }


def _write(tmp_path: Path, permits: list[Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"profile": "cn-gongmao", "permits": permits}), encoding="utf-8")
    return path


def test_a_conflict_is_printed_and_exits_1(tmp_path: Path) -> None:
    plan = _write(tmp_path, [_permit("HW-1", "hot_work", 0), _permit("PT-1", "painting", 10)])
    # The real installed command once, in a subprocess (start-up included).
    done = subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "simops", "check", str(plan)],
        capture_output=True,
        text=True,
        env={**os.environ, "CSPERMIT_LANG": "en"},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout) == {
        "conflicts": [
            {
                "permits": ["HW-1", "PT-1"],
                "verdict": "never",
                "rules": ["hot_work_near_painting"],
                "distance_m": 10,
            }
        ]
    }


def test_no_conflict_exits_0(tmp_path: Path) -> None:
    # Half-open windows: one ends at 12:00, the other starts at 12:00.
    plan = _write(
        tmp_path,
        [_permit("HW-1", "hot_work", 0), _permit("PT-1", "painting", 1, "12:00", "14:00")],
    )
    result = CliRunner().invoke(app, ["simops", "check", str(plan)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"conflicts": []}


@pytest.mark.parametrize(
    ("permits", "field"),
    [
        ([_permit("HW-1", "hot_work", 0, "12:00", "08:00")], "permits[0].window"),
        ([_permit("HW-1", "welding", 0)], "permits[0].activities[0]"),
        ([_permit("A", "hot_work", 0), _permit("A", "painting", 50)], "permits[1].id"),
        (
            [
                {
                    **_permit("A", "hot_work", 0),
                    "window": ["2026-12-02T08:00:00", "2026-12-02T09:00:00+08:00"],
                }
            ],
            "permits[0].window[0]",
        ),
    ],
    ids=["window-backwards", "unknown-activity", "duplicate-id", "no-offset"],
)
def test_an_invalid_plan_exits_2_naming_the_field(
    tmp_path: Path, permits: list[Any], field: str
) -> None:
    plan = _write(tmp_path, permits)
    result = CliRunner().invoke(app, ["simops", "check", str(plan)], env={"CSPERMIT_LANG": "en"})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert field in result.stderr


def test_an_unreadable_plan_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(app, ["simops", "check", str(bad)])
    assert result.exit_code == 2
    missing = CliRunner().invoke(app, ["simops", "check", str(tmp_path / "none.json")])
    assert missing.exit_code == 2
