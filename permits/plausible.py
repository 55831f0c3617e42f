"""Dates and times a record may carry: inside a plausible range (permits/data/
timestamps.toml; docs/rules.md, "Dates and times a record may carry").

Every event, snapshot and test model validates through :class:`PlausibleTimes`, whose
date and time fields are ``Instant`` or ``Day``, so a device, a form or a file that sends
year 9999 or year 1 gets an error naming the field at the boundary, and nothing past it
ever does date arithmetic on such a value.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
)


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


# The values a time field holds beside times: told apart by their exact type first.
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


def _in_range(value: Any) -> Any:
    if _implausible(value):
        earliest, latest = bounds()
        raise ValueError(f"a date from {earliest.isoformat()} to before {latest.isoformat()}")
    return value


# The check a date or time field carries: declared as ``Instant`` or ``Day`` (or with
# ``InRange`` in its ``Annotated``), so pydantic calls it for those fields alone. (It ran
# on every field before, "*": ~18 calls an event where one or two hold a time, about a
# quarter of an event's parse; docs/performance.md, wave 12.)
InRange = AfterValidator(_in_range)
Instant = Annotated[AwareDatetime, InRange]
Day = Annotated[date, InRange]

# What a field may hold that is a date or a time (pydantic's own date types included).
_TIME_TYPES: tuple[type, ...] = (date, AwareDatetime, NaiveDatetime, PastDate, FutureDate)
_TIME_TYPES += (PastDatetime, FutureDatetime)


def unchecked_times(annotation: Any) -> bool:
    """Whether a field's type can hold a date or a time that does not pass ``InRange``
    (at any depth: in a union, a tuple, a list)."""
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        return InRange not in extra and unchecked_times(base)
    if isinstance(annotation, type) and issubclass(annotation, _TIME_TYPES):
        return True
    return any(unchecked_times(arg) for arg in get_args(annotation))


class PlausibleTimes(BaseModel):
    """A model whose date and datetime fields (and tuples of them) must be in range; the
    error names the field (nested models check their own). Each such field is declared
    ``Instant`` or ``Day``: a model with one that is not fails when its class is made,
    so no time field is left unchecked (tests/permits/test_plausible_times.py walks
    every model too, once their forward references are resolved)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, info in cls.model_fields.items():
            if InRange not in info.metadata and unchecked_times(info.annotation):
                raise TypeError(
                    f"{cls.__name__}.{name} holds a date or time: declare it Instant or Day "
                    "(permits.plausible), so its range is checked"
                )
