"""Dates and times a record may carry: inside a plausible range (permits/data/
timestamps.toml; docs/rules.md, "Dates and times a record may carry").

Every event, snapshot and test model validates through :class:`PlausibleTimes`, so a
device, a form or a file that sends year 9999 or year 1 gets an error naming the field
at the boundary, and nothing past it ever does date arithmetic on such a value.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, field_validator


@cache
def bounds() -> tuple[date, date]:
    """(earliest, latest exclusive) from the data file."""
    data = tomllib.loads(
        resources.files("permits").joinpath("data/timestamps.toml").read_text("utf-8")
    )
    return date.fromisoformat(data["earliest"]), date.fromisoformat(data["latest_exclusive"])


def plausible(value: date | datetime) -> bool:
    earliest, latest = bounds()
    day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
    if isinstance(value, datetime) and value.tzinfo is None:
        day = value.date()
    return earliest <= day < latest


# The values most fields hold: never a date. The validator below runs on every field of
# every event a server ingests (profiled at ~18 fields an event, docs/performance.md),
# so these are told apart by their exact type before any isinstance check.
_NEVER_A_DATE: frozenset[type] = frozenset({str, int, float, bool, type(None), dict})


def _implausible(value: Any) -> bool:
    if type(value) in _NEVER_A_DATE:
        return False
    if isinstance(value, date):  # datetime is a date too
        try:
            return not plausible(value)
        except OverflowError:  # year 9999 in a far-west offset: past datetime.max in UTC
            return True
    if isinstance(value, (tuple, list)):
        return any(_implausible(v) for v in value)
    return False


class PlausibleTimes(BaseModel):
    """A model whose date and datetime fields (and tuples of them) must be in range; the
    error names the field (nested models check their own)."""

    @field_validator("*", mode="after")
    @classmethod
    def _time_in_range(cls, value: Any) -> Any:
        if _implausible(value):
            earliest, latest = bounds()
            raise ValueError(f"a date from {earliest.isoformat()} to before {latest.isoformat()}")
        return value
