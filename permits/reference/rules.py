"""The reference-data rules from ``permits/data/reference.toml``."""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from permits.errors import ProfileError

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "reference.toml"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    source: str


class KeySupervision(_Section):
    poisoning_gases: frozenset[str]


class Interval(_Section):
    max_interval_months: int = Field(gt=0)
    topic: str | None = None


class Isolation(_Section):
    sole_pipe_isolation: frozenset[str]


class ReferenceRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key_supervision: KeySupervision
    training: Interval
    drill: Interval
    isolation: Isolation


@cache
def reference_rules() -> ReferenceRules:
    try:
        return ReferenceRules.model_validate(tomllib.loads(RULES_FILE.read_text("utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ProfileError(f"{RULES_FILE} is not valid: {exc}") from exc


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the 29th-31st fall back to the month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover
