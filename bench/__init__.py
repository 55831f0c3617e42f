"""Benchmarks: ``python -m bench`` (full) and ``python -m bench --quick --json``.

Each area module exposes ``run(quick: bool) -> list[Figure]``; targets come from
the issue tracker's stated limits and are never loosened to pass.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    target: str | None = None  # e.g. "< 20", ">= 0.25"; None where there is no target
    ok: bool | None = None
    baseline: float | None = None  # the same run's baseline, where one exists
    note: str | None = None  # how it was measured, or why it was not

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# area -> the figures it owes (name, unit, target): the one place a target is written.
# ``python -m bench`` reports an owed figure an area did not measure as not measured;
# an area judges its figures against these (``judged``).
AREAS: dict[str, list[tuple[str, str, str | None]]] = {
    "drivers": [("drivers.pty_latency_p99", "ms", "< 20")],
    "alarm": [
        ("alarm.pty_to_presenter_p99", "ms", "< 50"),
        ("alarm.pty_to_server_api_p99", "ms", "< 2000"),
    ],
    "server": [("server.ingest_vs_raw_sqlite", "ratio", ">= 0.25")],
    "wire": [("readings.wire_bytes_per_value", "B/value", "<= 2")],
    "search": [
        ("search.sqlite_1m_search_p95", "ms", "< 100"),
        ("search.sqlite_1m_trace", "ms", "< 200"),
        ("search.postgresql_1m_search_p95", "ms", "< 100"),
        ("search.postgresql_1m_trace", "ms", "< 200"),
        ("search.sqlite_1m_dashboard", "ms", "< 150"),
        ("search.postgresql_1m_dashboard", "ms", "< 150"),
    ],
    "province": [
        ("province.alarm_during_catchup_p99", "s", "< 2"),
        ("province.events_lost", "events", "== 0"),
        ("province.events_duplicated", "events", "== 0"),
        ("server.ingest_vs_floor", "ratio", ">= 0.7"),
        ("province.day_ingest_minutes", "min", "<= 5"),
    ],
    "tablet": [
        ("tablet.cold_start_first_frame", "s", "< 3"),
        ("tablet.memory_growth_12h_4_detectors", "MB", "< 20"),
        ("tablet.app_rss_over_empty_window", "MB", "<= 100"),
    ],
}

_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


def owed(name: str) -> tuple[str, str | None]:
    """The unit and target of an owed figure (``AREAS``)."""
    for figures in AREAS.values():
        for owed_name, unit, target in figures:
            if owed_name == name:
                return unit, target
    raise KeyError(f"{name} is not an owed figure of any area (bench.AREAS)")


def meets(value: float, target: str) -> bool:
    """Whether ``value`` meets a target written as ``"<op> <number>"``."""
    op, _, bound = target.partition(" ")
    return _COMPARE[op](value, float(bound))


def judged(name: str, value: float | None, *, ok: bool = True, **extra: Any) -> Figure:
    """An owed figure, judged against its target in ``AREAS``; ``ok=False`` fails it
    whatever the value (a measure that is not whole, e.g. an alarm never seen)."""
    unit, target = owed(name)
    met = value is not None and ok and (target is None or meets(value, target))
    return Figure(name, value, unit, target, met if target else None, **extra)


def missing(name: str, unit: str, target: str | None, reason: str) -> Figure:
    """A figure that was not measured: never ok where it has a target."""
    return Figure(name, None, unit, target, False if target else None, note=reason)


def p50_p99(samples: Sequence[float]) -> tuple[float, float]:
    """Median and 99th percentile (inclusive method: defined for small samples)."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0], ordered[0]
    return statistics.median(ordered), statistics.quantiles(ordered, n=100, method="inclusive")[98]


def percentile(samples: Sequence[float], q: int) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[q - 1]
