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
