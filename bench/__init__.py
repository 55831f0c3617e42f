"""Benchmarks: ``python -m bench`` (full) and ``python -m bench --quick --json``.

Each area module exposes ``run(quick: bool) -> list[Figure]``; targets come from
the issue tracker's stated limits and are never loosened to pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str | None = None  # e.g. "< 20", ">= 0.25"; None where there is no target
    ok: bool | None = None
    baseline: float | None = None  # the same run's baseline, where one exists

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
