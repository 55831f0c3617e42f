"""The reference-data rules from ``permits/data/reference.toml``."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
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


class LedgerAge(_Section):
    max_age_days: float = Field(gt=0)


class ReferenceRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key_supervision: KeySupervision
    training: Interval
    drill: Interval
    isolation: Isolation
    ledger: LedgerAge


@cache
def reference_rules() -> ReferenceRules:
    try:
        return ReferenceRules.model_validate(tomllib.loads(RULES_FILE.read_text("utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ProfileError(f"{RULES_FILE} is not valid: {exc}") from exc


def poisoning_risk(hazards: Iterable[str], channels: Iterable[str]) -> bool:
    """Whether a space's hazards or required channels name an H2S/CO/CO2 poisoning gas."""
    gases = reference_rules().key_supervision.poisoning_gases
    return bool((set(hazards) | {str(c) for c in channels}) & gases)


def requires_principal_approval(
    key_supervision: bool, hazards: Iterable[str], channels: Iterable[str]
) -> bool:
    """MEM13 Art. 7: approval by the principal or a written delegate.

    True when the ledger flags the space, and also when its hazards or channels
    show an H2S/CO/CO2 risk the flag forgot (fail safe). The ledger's space and the
    permit's snapshot of it both answer with this one function.
    """
    return key_supervision or poisoning_risk(hazards, channels)


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
