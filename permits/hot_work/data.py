"""The hot-work rule data: levels, gas-analysis limits, fire-watch time by profile,
and the holiday calendar per year (``permits/data/hot_work/``, each with its source).

:func:`effective_level` raises the enterprise's level of the place by one on a
public holiday, a rest day or at night (docs/rules.md, Hot work).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from permits.errors import ProfileError
from permits.hot_work.events import (
    HotWorkAuthority,
    HotWorkLevel,
    window_days,
)
from permits.profiles import FlammableRule

__all__ = [
    "HOT_WORK_DIR",
    "Calendar",
    "HotWorkRules",
    "LevelRule",
    "LevelUp",
    "calendar",
    "effective_level",
    "hot_work_rules",
    "raise_reasons",
    "years_without_calendar",
]

HOT_WORK_DIR = Path(__file__).resolve().parent.parent / "data" / "hot_work"

# Raising goes one step up; 特级 is the top.
_UP = {
    HotWorkLevel.SECOND: HotWorkLevel.FIRST,
    HotWorkLevel.FIRST: HotWorkLevel.SPECIAL,
    HotWorkLevel.SPECIAL: HotWorkLevel.SPECIAL,
}
# An approver of a higher rank may approve a lower level (docs/rules.md, Hot work).
AUTHORITY_RANK = {
    HotWorkAuthority.WORK_UNIT: 0,
    HotWorkAuthority.SAFETY_DEPARTMENT: 1,
    HotWorkAuthority.PRODUCTION_SAFETY_LEAD: 2,
}


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LevelRule(_Data):
    validity_hours: float = Field(gt=0)
    reanalysis_after_interruption_minutes: float = Field(ge=0)
    continuous_monitoring: bool
    approver: HotWorkAuthority
    source: str

    @property
    def validity(self) -> timedelta:
        return timedelta(hours=self.validity_hours)

    @property
    def reanalysis_after(self) -> timedelta:
        return timedelta(minutes=self.reanalysis_after_interruption_minutes)


class LevelUp(_Data):
    night_start: time
    night_end: time
    source: str


class OxygenLimit(_Data):
    max_vol_inside_equipment: float = Field(gt=0, lt=100)
    source: str


class AnalysisRule(_Data):
    max_age_before_fire_minutes: float = Field(gt=0)
    max_distance_m: float = Field(gt=0)
    max_age_while_working_hours: float = Field(gt=0)
    flammable: FlammableRule
    oxygen: OxygenLimit
    source: str

    @property
    def max_age_before_fire(self) -> timedelta:
        return timedelta(minutes=self.max_age_before_fire_minutes)

    @property
    def max_age_while_working(self) -> timedelta:
        return timedelta(hours=self.max_age_while_working_hours)


class AlarmRule(_Data):
    near_fire_point_m: float = Field(gt=0)
    source: str


class OperatorRule(_Data):
    certificate: str = Field(min_length=1)
    source: str


class FireWatchProfile(_Data):
    fire_watch_minutes: float = Field(gt=0)
    source: str

    @property
    def fire_watch(self) -> timedelta:
        return timedelta(minutes=self.fire_watch_minutes)


class HotWorkRules(_Data):
    sources: dict[str, str]
    levels: dict[HotWorkLevel, LevelRule]
    level_up: LevelUp
    analysis: AnalysisRule
    alarm: AlarmRule
    operators: OperatorRule
    profiles: dict[str, FireWatchProfile]

    def profile(self, name: str) -> FireWatchProfile:
        try:
            return self.profiles[name]
        except KeyError:
            raise ProfileError(f"no hot-work profile {name!r}") from None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path} is not valid: {exc}") from exc


@cache
def hot_work_rules() -> HotWorkRules:
    path = HOT_WORK_DIR / "rules.toml"
    try:
        rules = HotWorkRules.model_validate(_toml(path))
    except ValidationError as exc:
        raise ProfileError(f"{path} is not valid: {exc}") from exc
    if set(rules.levels) != set(HotWorkLevel):
        raise ProfileError(f"{path}: every level needs its rule")
    return rules


@dataclass(frozen=True)
class Calendar:
    year: int
    holidays: frozenset[date]
    working_weekend_days: frozenset[date]
    source: str

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays

    def is_rest_day(self, day: date) -> bool:
        return day.weekday() >= 5 and day not in self.working_weekend_days


@cache
def calendar(year: int) -> Calendar | None:
    """The year's holidays and adjusted working days, or None when there is no data."""
    path = HOT_WORK_DIR / "holidays" / f"{year}.toml"
    if not path.exists():
        return None
    raw = _toml(path)
    try:
        cal = Calendar(
            year=int(raw["year"]),
            holidays=frozenset(date.fromisoformat(d) for d in raw["holidays"]),
            working_weekend_days=frozenset(
                date.fromisoformat(d) for d in raw["working_weekend_days"]
            ),
            source=str(raw["source"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{path} is not valid: {exc}") from exc
    if cal.year != year or any(d.year != year for d in cal.holidays | cal.working_weekend_days):
        raise ProfileError(f"{path}: every date must be in {year}")
    return cal


def _touches_night(start: datetime, end: datetime, rule: LevelUp) -> bool:
    # Night runs from night_start to night_end the next morning, in local time.
    for day in [start.date() - timedelta(days=1), *window_days(start, end)]:
        night_from = datetime.combine(day, rule.night_start, tzinfo=start.tzinfo)
        night_to = datetime.combine(day + timedelta(days=1), rule.night_end, tzinfo=start.tzinfo)
        if night_from < end and start < night_to:
            return True
    return False


def years_without_calendar(start: datetime, end: datetime) -> tuple[int, ...]:
    """The window's years (local to its start, half-open: a window ending at 00:00 on
    1 January has no day of the new year) with no holiday calendar installed."""
    years = dict.fromkeys(day.year for day in window_days(start, end))
    return tuple(y for y in years if calendar(y) is None)


def raise_reasons(
    start: datetime, end: datetime, recorded_gaps: tuple[int, ...] = ()
) -> tuple[str, ...]:
    """Why the window raises the level: ``holiday``, ``rest_day``, ``night``, or
    ``no_calendar``: a day of a year without data counts as a holiday (fail safe, never
    a refusal: hot work goes on at the stricter level), and so does every year the draft
    recorded as without data (``recorded_gaps``), even once a calendar is installed."""
    local_end = end.astimezone(start.tzinfo)
    reasons: list[str] = ["no_calendar"] if recorded_gaps else []
    for day in window_days(start, local_end):
        cal = calendar(day.year)
        if cal is None:
            reasons.append("no_calendar")
        elif cal.is_holiday(day):
            reasons.append("holiday")
        elif cal.is_rest_day(day):
            reasons.append("rest_day")
    if _touches_night(start, local_end, hot_work_rules().level_up):
        reasons.append("night")
    return tuple(dict.fromkeys(reasons))


def effective_level(
    base: HotWorkLevel, start: datetime, end: datetime, recorded_gaps: tuple[int, ...] = ()
) -> HotWorkLevel:
    """One level up when any reason applies (never more than one step)."""
    return _UP[base] if raise_reasons(start, end, recorded_gaps) else base


def level_rule(level: HotWorkLevel) -> LevelRule:
    return hot_work_rules().levels[level]
