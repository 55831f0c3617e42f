"""The scenario clock: accelerated, pausable, never backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hil_sim.clock import ScenarioClock

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


class FakeWall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_speed_multiplies_wall_time() -> None:
    wall = FakeWall()
    clock = ScenarioClock(START, speed=600, monotonic=wall)
    wall.t += 12  # 12 wall seconds
    assert clock.elapsed() == pytest.approx(7200)  # two hours of scenario
    assert clock.now() == START + timedelta(hours=2)


def test_paused_clock_moves_only_when_advanced() -> None:
    wall = FakeWall()
    clock = ScenarioClock(START, speed=0, monotonic=wall)
    wall.t += 1000
    assert clock.elapsed() == 0
    clock.advance(90)
    assert clock.now() == START + timedelta(seconds=90)
    clock.advance_to(60)  # never backwards
    assert clock.elapsed() == 90
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_changing_speed_keeps_elapsed_time() -> None:
    wall = FakeWall()
    clock = ScenarioClock(START, speed=10, monotonic=wall)
    wall.t += 5
    clock.set_speed(0)
    wall.t += 5
    assert clock.elapsed() == pytest.approx(50)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="start"):
        ScenarioClock(datetime(2026, 1, 1))
