"""The hot-work permit's payloads (动火安全作业票, docs/rules.md, Hot work), one class per
hot-work event type, registered with :func:`permits.events.register_payloads`.

The confined-space payloads are untouched, so no existing event's hash changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from permits.events import (
    DetectorIdentity,
    EventType,
    Hash64,
    Id,
    Payload,
    PersonSnapshot,
    SignOff,
    SimopsAcknowledgement,
    _Model,
    register_payloads,
)
from permits.plausible import Instant

__all__ = [
    "MANUAL",
    "FirePoint",
    "HotWorkAlarmCleared",
    "HotWorkAlarmRaised",
    "HotWorkApproved",
    "HotWorkAuthority",
    "HotWorkCancelled",
    "HotWorkClosed",
    "HotWorkDone",
    "HotWorkDrafted",
    "HotWorkFireStarted",
    "HotWorkFireWatchEnded",
    "HotWorkFireWatchStarted",
    "HotWorkGasAnalysed",
    "HotWorkGasReading",
    "HotWorkInterrupted",
    "HotWorkLevel",
    "HotWorkMonitoringStarted",
    "HotWorkMonitoringStopped",
    "HotWorkResumed",
    "HotWorkRole",
    "HotWorkRoleAssigned",
    "HotWorkSimopsAcknowledged",
    "HotWorkSuspended",
    "HotWorkWatchConfirmed",
    "LinkedPermitSnapshot",
    "window_days",
]


class HotWorkLevel(StrEnum):
    SPECIAL = "special"  # 特级
    FIRST = "first"  # 一级
    SECOND = "second"  # 二级


class HotWorkRole(StrEnum):
    WORK_LEADER = "work_leader"  # 作业负责人
    OPERATOR = "operator"  # 动火作业人
    FIRE_WATCHER = "fire_watcher"  # 监火人


class HotWorkAuthority(StrEnum):
    """Who may approve which level (GB 30871-2022 B.1)."""

    WORK_UNIT = "work_unit"  # 作业所在单位: 二级
    SAFETY_DEPARTMENT = "safety_department"  # 安全管理部门: 一级
    PRODUCTION_SAFETY_LEAD = "production_safety_lead"  # 主管领导: 特级


class FirePoint(_Model):
    point_id: Id
    location: str = Field(min_length=1)
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)
    z: float = Field(allow_inf_nan=False)


def window_days(start: datetime, end: datetime) -> list[date]:
    """The local calendar days (at ``start``'s offset) a planned window touches, half-open:
    a window ending at 00:00 touches no day of its end date. One rule for the level's
    days and the years a draft records."""
    last = (end.astimezone(start.tzinfo) - timedelta(microseconds=1)).date()
    out, day = [], start.date()
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


class HotWorkDrafted(Payload):
    event_type = EventType.HOT_WORK_DRAFTED
    enterprise_id: Id
    profile: Id = "cn-gb30871-2022"  # permits/data/hot_work/profiles.toml
    base_level: HotWorkLevel  # the enterprise's classification of the place
    planned_start: Instant
    planned_end: Instant
    fire_points: tuple[FirePoint, ...] = Field(min_length=1)
    method: str = Field(min_length=1)  # e.g. electric welding, gas cutting
    work_description: str = Field(min_length=1)
    # A hot job inside a confined space needs that space's permit too, and it must be active.
    linked_permit_id: Id | None = None
    linked_space_id: Id | None = None
    # The window's years the drafting tablet had no holiday calendar for: the level stays
    # raised for them (as if every such day were a holiday) whatever calendar a later
    # reader has, so installing a year's calendar never changes a permit already written
    # (docs/rules.md, Hot work). Default empty: earlier drafts hash as before.
    years_without_calendar: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> HotWorkDrafted:
        if self.planned_end <= self.planned_start:
            raise ValueError("planned_end must be after planned_start")
        years = {d.year for d in window_days(self.planned_start, self.planned_end)}
        if any(y not in years for y in self.years_without_calendar):
            raise ValueError("years_without_calendar must be years of the planned window")
        if (self.linked_permit_id is None) != (self.linked_space_id is None):
            raise ValueError("linked_permit_id and linked_space_id go together")
        return self


class HotWorkRoleAssigned(Payload):
    event_type = EventType.HOT_WORK_ROLE_ASSIGNED
    role: HotWorkRole
    person: PersonSnapshot


class HotWorkApproved(Payload):
    event_type = EventType.HOT_WORK_APPROVED
    approver: PersonSnapshot
    authority: HotWorkAuthority
    signoff: SignOff


# A reading's flag: the value was typed in, not read from a detector (it needs a
# countersign, permits.commands.common.countersign_unmet).
MANUAL = "manual"


class HotWorkGasReading(_Model):
    # O2, LEL or a gas of the gas table (permits.readings.Channel).
    channel: Literal[
        "O2", "LEL", "CH4", "H2", "C3H8", "H2S", "CO", "CO2", "NH3", "Cl2", "SO2", "NO2"
    ]
    value: float = Field(ge=0, allow_inf_nan=False)
    unit: Literal["%VOL", "%LEL", "ppm"]
    gas: Id | None = None  # the LEL channel's gas basis
    lel_vol: float | None = Field(default=None, gt=0, le=100)
    status: tuple[str, ...] = ()  # the detector's flags (fault, warmup, overrange, ...)


class HotWorkGasAnalysed(Payload):
    """A gas analysis at a fire point (GB 30871-2022 5.3); judged again by the fold."""

    event_type = EventType.HOT_WORK_GAS_ANALYSED
    fire_point_id: Id
    sampled_at: Instant
    distance_m: float = Field(ge=0, allow_inf_nan=False)  # from the fire point
    inside_equipment: bool = False
    readings: tuple[HotWorkGasReading, ...] = Field(min_length=1)
    detector: DetectorIdentity
    analysed_by: Id
    # Typed values (flagged ``manual``) carry a second person's signature (COUNTERSIGN);
    # None by default, so analyses recorded before it hash as they did.
    countersign: SignOff | None = None


class HotWorkMonitoringStarted(Payload):
    event_type = EventType.HOT_WORK_MONITORING_STARTED
    detector: DetectorIdentity
    fire_point_id: Id


class HotWorkMonitoringStopped(Payload):
    event_type = EventType.HOT_WORK_MONITORING_STOPPED
    detector_serial: Id
    reason: str = ""


class LinkedPermitSnapshot(_Model):
    """The linked confined-space permit as the device saw it (the server compares it
    with that permit's own chain)."""

    permit_id: Id
    status: Id
    seq: int = Field(ge=1)
    head_hash: Hash64
    space_id: Id


class HotWorkFireStarted(Payload):
    event_type = EventType.HOT_WORK_FIRE_STARTED
    watcher: SignOff  # the fire watcher (监火人), present, meaning guard
    linked: LinkedPermitSnapshot | None = None


class HotWorkInterrupted(Payload):
    event_type = EventType.HOT_WORK_INTERRUPTED
    reason: str = ""


class HotWorkDone(Payload):
    event_type = EventType.HOT_WORK_DONE


class HotWorkFireWatchStarted(Payload):
    event_type = EventType.HOT_WORK_FIRE_WATCH_STARTED
    watcher: SignOff  # meaning guard


class HotWorkWatchConfirmed(Payload):
    event_type = EventType.HOT_WORK_WATCH_CONFIRMED
    watcher: SignOff  # meaning guard: still there


class HotWorkFireWatchEnded(Payload):
    event_type = EventType.HOT_WORK_FIRE_WATCH_ENDED
    watcher: SignOff  # meaning close: 确认无残留火种
    no_residual_fire: Literal[True]


class HotWorkClosed(Payload):
    event_type = EventType.HOT_WORK_CLOSED
    signoff: SignOff


class HotWorkAlarmRaised(Payload):
    """A flammable alarm near a fire point or in the linked space: suspends at once."""

    event_type = EventType.HOT_WORK_ALARM_RAISED
    alarm_id: Id
    channel: str | None = None
    fire_point_id: Id | None = None
    space_id: Id | None = None
    value: float | None = None
    limit: float | None = None
    unit: str | None = None


class HotWorkAlarmCleared(Payload):
    event_type = EventType.HOT_WORK_ALARM_CLEARED
    alarm_id: Id


class HotWorkSuspended(Payload):
    event_type = EventType.HOT_WORK_SUSPENDED
    reason: str = Field(min_length=1)


class HotWorkResumed(Payload):
    event_type = EventType.HOT_WORK_RESUMED
    reason: str = ""


class HotWorkCancelled(Payload):
    event_type = EventType.HOT_WORK_CANCELLED
    reason: str = Field(min_length=1)


class HotWorkSimopsAcknowledged(SimopsAcknowledgement):
    """This permit's approver accepts a conditional SIMOPS conflict (permits.simops)."""

    event_type = EventType.HOT_WORK_SIMOPS_ACKNOWLEDGED


register_payloads(
    HotWorkDrafted,
    HotWorkRoleAssigned,
    HotWorkApproved,
    HotWorkGasAnalysed,
    HotWorkMonitoringStarted,
    HotWorkMonitoringStopped,
    HotWorkFireStarted,
    HotWorkInterrupted,
    HotWorkDone,
    HotWorkFireWatchStarted,
    HotWorkWatchConfirmed,
    HotWorkFireWatchEnded,
    HotWorkClosed,
    HotWorkAlarmRaised,
    HotWorkAlarmCleared,
    HotWorkSuspended,
    HotWorkResumed,
    HotWorkCancelled,
    HotWorkSimopsAcknowledged,
)
