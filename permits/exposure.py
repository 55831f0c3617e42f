"""Exposure arithmetic over one channel's time series (numpy).

Times are seconds (any origin), ascending; values are concentrations in one
unit. A sample at ``t[i]`` stands for the interval since the previous sample
``(t[i-1], t[i]]``: the newest reading counts at once, and a gap is filled by
the reading that ends it. The stream's freshness is checked elsewhere
(``permits.monitoring``); these functions only do the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["projected_twa_8h", "rolling_twa", "time_to_alarm"]

EIGHT_HOURS_S = 8 * 3600.0  # the definition of an 8-h TWA, not a rule threshold

FloatArray = npt.NDArray[np.float64]


def _series(
    times_s: Sequence[float] | FloatArray, values: Sequence[float] | FloatArray
) -> tuple[FloatArray, FloatArray]:
    t = np.asarray(times_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or t.shape != v.shape:
        raise ValueError("times_s and values must be 1-D and of equal length")
    if t.size and (not np.all(np.isfinite(t)) or not np.all(np.isfinite(v))):
        raise ValueError("times_s and values must be finite")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ValueError("times_s must be ascending")
    return t, v


def _cumulative(t: FloatArray, v: FloatArray) -> FloatArray:
    """F[i] = integral of the series from t[0] to t[i]."""
    dt = np.diff(t, prepend=t[0])
    return np.cumsum(v * dt)


def _integral_to(t: FloatArray, v: FloatArray, cum: FloatArray, s: FloatArray) -> FloatArray:
    """The integral from t[0] to each time in ``s`` (0 before the first sample)."""
    s = np.clip(s, t[0], t[-1])
    m = np.searchsorted(t, s, side="left")  # first index with t[m] >= s
    m = np.clip(m, 0, t.size - 1)
    prev = np.maximum(m - 1, 0)
    partial = v[m] * (s - t[prev])
    return np.where(m == 0, 0.0, cum[prev] + partial)


def rolling_twa(
    times_s: Sequence[float] | FloatArray,
    values: Sequence[float] | FloatArray,
    window_s: float,
) -> FloatArray:
    """Time-weighted average over the ``window_s`` ending at each sample.

    Early on, when less than a window of data exists, the average is over the
    data so far (not padded with zeros, which would understate exposure).
    """
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    t, v = _series(times_s, values)
    if t.size == 0:
        return np.zeros(0)
    cum = _cumulative(t, v)
    start = np.maximum(t - window_s, t[0])
    covered = t - start
    integral = cum - _integral_to(t, v, cum, start)
    with np.errstate(invalid="ignore", divide="ignore"):
        twa = np.where(covered > 0, integral / np.where(covered > 0, covered, 1.0), v)
    return np.asarray(twa, dtype=np.float64)


def projected_twa_8h(
    times_s: Sequence[float] | FloatArray,
    values: Sequence[float] | FloatArray,
    *,
    recent_s: float,
    period_s: float = EIGHT_HOURS_S,
) -> float | None:
    """The 8-h TWA if the recent level (TWA over ``recent_s``) lasts to the end of the period.

    The period starts at the first sample. Past the period, the TWA of the last
    ``period_s``. None for an empty series.
    """
    t, v = _series(times_s, values)
    if t.size == 0:
        return None
    elapsed = float(t[-1] - t[0])
    if elapsed >= period_s:
        return float(rolling_twa(t, v, period_s)[-1])
    cum = _cumulative(t, v)
    recent = float(rolling_twa(t, v, recent_s)[-1])
    return (float(cum[-1]) + recent * (period_s - elapsed)) / period_s


def time_to_alarm(
    times_s: Sequence[float] | FloatArray,
    values: Sequence[float] | FloatArray,
    limit: float,
    window_s: float,
    *,
    falling: bool = False,
) -> float | None:
    """Seconds from the last sample until a least-squares line over the last
    ``window_s`` reaches ``limit``; 0 when it already has; None when the trend
    is not towards the limit or there are too few points to fit.

    ``falling`` watches a lower limit (oxygen deficiency).
    """
    t, v = _series(times_s, values)
    if t.size < 2:
        return None
    keep = t >= t[-1] - window_s
    tw, vw = t[keep], v[keep]
    if tw.size < 2 or float(np.ptp(tw)) == 0.0:
        return None
    x = tw - tw[-1]
    x_mean, y_mean = float(x.mean()), float(vw.mean())
    slope = float(np.sum((x - x_mean) * (vw - y_mean)) / np.sum((x - x_mean) ** 2))
    now = y_mean - slope * x_mean  # the fitted value at the last sample
    if falling:
        slope, now, limit = -slope, -now, -limit
    if now >= limit:
        return 0.0
    if slope <= 0:
        return None
    return (limit - now) / slope
