"""Exposure arithmetic on synthetic series whose answers are worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.exposure import projected_twa_8h, rolling_twa, time_to_alarm


def test_rolling_twa_step() -> None:
    # (0,60] at 10, (60,120] and (120,180] at 40. Window 120 s:
    # at 120: (10*60 + 40*60)/120 = 25; at 180: 40; at 60: 10.
    twa = rolling_twa([0, 60, 120, 180], [10, 10, 40, 40], 120)
    assert twa.tolist() == pytest.approx([10, 10, 25, 40])


def test_rolling_twa_window_cuts_inside_an_interval() -> None:
    # (0,100] at 0, (100,200] at 30. Window 150 s at 200: [50,200] = 0*50 + 30*100 = 3000/150 = 20.
    assert rolling_twa([0, 100, 200], [0, 0, 30], 150)[-1] == pytest.approx(20)


def test_rolling_twa_fifteen_minutes_of_co() -> None:
    # CO: 10 min at 20 mg/m3 then 5 min at 50 mg/m3 -> 15-min TWA (200+250)/15 = 30.
    times = np.arange(0, 15 * 60 + 1, 60.0)
    values = np.where(times <= 600, 20.0, 50.0)
    assert rolling_twa(times, values, 900)[-1] == pytest.approx(30)


def test_rolling_twa_early_is_average_so_far() -> None:
    assert rolling_twa([0, 30], [0, 60], 900)[-1] == pytest.approx(60)
    assert rolling_twa([5.0], [7.0], 900).tolist() == [7.0]
    assert rolling_twa([], [], 900).size == 0


def test_rolling_twa_rejects_bad_series() -> None:
    with pytest.raises(ValueError):
        rolling_twa([0, 2, 1], [1, 1, 1], 10)
    with pytest.raises(ValueError):
        rolling_twa([0, 1], [1, float("nan")], 10)
    with pytest.raises(ValueError):
        rolling_twa([0, 1], [1], 10)


def test_projected_twa_8h() -> None:
    # 1 h at 0 then 1 h at 40; the recent 15 min are 40 and last 6 more hours:
    # (0 + 40*1 + 40*6) / 8 = 35.
    assert projected_twa_8h([0, 3600, 7200], [0, 0, 40], recent_s=900) == pytest.approx(35)
    # A constant level projects to itself.
    assert projected_twa_8h([0, 60, 120], [12, 12, 12], recent_s=900) == pytest.approx(12)
    # Past 8 h: the TWA of the last 8 h (9 h series, first hour at 100, rest 10).
    assert projected_twa_8h([0, 3600, 9 * 3600], [100, 100, 10], recent_s=900) == pytest.approx(10)
    assert projected_twa_8h([], [], recent_s=900) is None


def test_time_to_alarm_rising_and_falling() -> None:
    # +1 per minute from 1 at t=180 (value 4): limit 10 in 6 min.
    assert time_to_alarm([0, 60, 120, 180], [1, 2, 3, 4], 10, 300) == pytest.approx(360)
    # O2 falling 0.1 %/min from 20.6: 19.5 in 11 min.
    assert time_to_alarm(
        [0, 60, 120, 180], [20.9, 20.8, 20.7, 20.6], 19.5, 300, falling=True
    ) == pytest.approx(660)
    # Flat or falling towards nothing: None; already past: 0.
    assert time_to_alarm([0, 60, 120], [5, 5, 5], 10, 300) is None
    assert time_to_alarm([0, 60, 120], [5, 4, 3], 10, 300) is None
    assert time_to_alarm([0, 60, 120], [11, 12, 13], 10, 300) == 0.0
    assert time_to_alarm([0], [1], 10, 300) is None


def test_time_to_alarm_uses_only_the_recent_window() -> None:
    # Old points fall; the last 2 min rise 1 per minute from 2 -> 4.
    times = [0, 60, 120, 600, 660, 720]
    values = [9, 8, 7, 2, 3, 4]
    assert time_to_alarm(times, values, 10, 150) == pytest.approx(360)


def test_time_to_alarm_least_squares_not_last_two_points() -> None:
    # Noisy rise: fit of (0,0),(60,2),(120,1),(180,3) has slope 0.0133/s... by hand:
    # x_mean=90, y_mean=1.5; Sxy = (-90)(-1.5)+(-30)(0.5)+(30)(-0.5)+(90)(1.5) = 240;
    # Sxx = 8100+900+900+8100 = 18000; slope = 1/75; fit at 180 = 1.5 + 90/75 = 2.7;
    # to 10: 7.3 * 75 = 547.5 s.
    assert time_to_alarm([0, 60, 120, 180], [0, 2, 1, 3], 10, 600) == pytest.approx(547.5)


@given(
    st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=50),
    st.floats(min_value=1, max_value=5000),
)
def test_twa_is_within_the_range_of_values(values: list[float], window: float) -> None:
    times = np.arange(len(values), dtype=float) * 10
    twa = rolling_twa(times, values, window)
    assert np.all(twa >= min(values) - 1e-9)
    assert np.all(twa <= max(values) + 1e-9)
