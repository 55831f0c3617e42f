"""A hot-work permit's state: a pure fold over its events (docs/rules.md, Hot work).

draft → approved → gas_ok → active ⇄ interrupted → work_done → fire_watch →
watch_done → closed, and suspended / cancelled. Like the confined-space fold
(:mod:`permits.state`), :func:`apply_hot_work` never refuses an event: the rules
are in :mod:`permits.hot_work.rules`. A gas analysis is judged again here from its
readings; the level, the validity and the fire-watch time are derived from data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from permits import units
from permits.errors import ProfileError
from permits.events import (
    GENESIS_HASH,
    Event,
    PersonSnapshot,
)
from permits.gases import gases, lel_table
from permits.hot_work.codes import HotWorkCode
from permits.hot_work.data import effective_level, hot_work_rules, level_rule, raise_reasons
from permits.hot_work.events import (
    FirePoint,
    HotWorkAlarmCleared,
    HotWorkAlarmRaised,
    HotWorkApproved,
    HotWorkAuthority,
    HotWorkCancelled,
    HotWorkClosed,
    HotWorkDone,
    HotWorkDrafted,
    HotWorkFireStarted,
    HotWorkFireWatchEnded,
    HotWorkFireWatchStarted,
    HotWorkGasAnalysed,
    HotWorkGasReading,
    HotWorkInterrupted,
    HotWorkLevel,
    HotWorkMonitoringStarted,
    HotWorkMonitoringStopped,
    HotWorkResumed,
    HotWorkRole,
    HotWorkRoleAssigned,
    HotWorkSimopsAcknowledged,
    HotWorkSuspended,
    HotWorkWatchConfirmed,
)
from permits.readings import UNTRUSTED_FLAGS

__all__ = [
    "HOT_WORK_TERMINAL",
    "Analysis",
    "HotWorkState",
    "HotWorkStatus",
    "alarm_concerns",
    "apply_hot_work",
    "fold_hot_work",
    "judge_analysis",
]


class HotWorkStatus(StrEnum):
    NONE = "none"
    DRAFT = "draft"
    APPROVED = "approved"
    GAS_OK = "gas_ok"
    ACTIVE = "active"
    INTERRUPTED = "interrupted"
    WORK_DONE = "work_done"
    FIRE_WATCH = "fire_watch"
    WATCH_DONE = "watch_done"
    CLOSED = "closed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # derived: HotWorkState.status_at


HOT_WORK_TERMINAL = frozenset({HotWorkStatus.CLOSED, HotWorkStatus.CANCELLED})
# Before the fire is out the validity clock runs; the fire watch outlasts it.
_EXPIRABLE = frozenset(
    {
        HotWorkStatus.APPROVED,
        HotWorkStatus.GAS_OK,
        HotWorkStatus.ACTIVE,
        HotWorkStatus.INTERRUPTED,
        HotWorkStatus.SUSPENDED,
    }
)
# An alarm suspends these at once.
SUSPENDABLE = frozenset(
    {HotWorkStatus.APPROVED, HotWorkStatus.GAS_OK, HotWorkStatus.ACTIVE, HotWorkStatus.INTERRUPTED}
)

# Channels read against the flammable limit: the LEL sensor and every gas of the
# gas table that is flammable (docs/rules.md, Gases and units).
_FLAMMABLE_CHANNELS = frozenset({"LEL"}) | {name for name, gas in gases().items() if gas.flammable}
_UNTRUSTED = frozenset(flag.value for flag in UNTRUSTED_FLAGS)


@dataclass(frozen=True)
class Analysis:
    seq: int
    fire_point_id: str
    sampled_at: datetime
    recorded_at: datetime
    acceptable: bool
    reasons: tuple[Mapping[str, Any], ...]


def _flammable_unmet(reading: HotWorkGasReading) -> list[dict[str, Any]]:
    """§5.3.2 for one reading: %VOL against 0.5 or 0.2 by the gas's LEL; a %LEL value is
    converted with the gas's LEL (the reading's own ``lel_vol`` wins), and an LEL
    channel with no gas basis must pass for every gas of the LEL table (fail closed),
    as the atmosphere check does. The worst failing case is reported."""
    rule = hot_work_rules().analysis.flammable
    gas = reading.gas if reading.channel == "LEL" else reading.channel
    known = units.lel_of(gas, reading.lel_vol)
    worst: tuple[float, dict[str, Any]] | None = None
    for lel in [known] if known is not None else sorted(set(lel_table().values())):
        if reading.unit == "%LEL":
            vol = units.lel_to_vol(reading.value, lel)
        elif reading.unit == "%VOL":
            vol = reading.value
        else:
            vol = units.ppm_to_vol(reading.value)
        limit = rule.max_vol_for(lel)
        if round(vol, 6) > limit and (worst is None or vol / limit > worst[0]):
            facts = {"channel": reading.channel, "value_vol": round(vol, 4), "limit_vol": limit}
            worst = (vol / limit, {"code": HotWorkCode.HOT_WORK_FLAMMABLE_HIGH.value, **facts})
    return [] if worst is None else [worst[1]]


def _trust_unmet(payload: HotWorkGasAnalysed) -> list[dict[str, Any]]:
    """Detector trust as for the atmosphere check (docs/rules.md, Trusting the
    detector): calibration not due before the local date, untrusted flags give no
    verdict."""
    reasons: list[dict[str, Any]] = []
    due = payload.detector.calibration_due
    if due is not None and due < payload.sampled_at.date():
        reasons.append(
            {"code": HotWorkCode.HOT_WORK_CALIBRATION_EXPIRED.value, "due": due.isoformat()}
        )
    for reading in payload.readings:
        bad = sorted(set(reading.status) & _UNTRUSTED)
        if bad:
            reasons.append(
                {
                    "code": HotWorkCode.HOT_WORK_SENSOR_FAULT.value,
                    "channel": reading.channel,
                    "flags": ", ".join(bad),
                }
            )
    return reasons


def judge_analysis(payload: HotWorkGasAnalysed, recorded_at: datetime) -> list[dict[str, Any]]:
    """Every reason a gas analysis fails (empty: it passes). Missing data fails."""
    rules = hot_work_rules().analysis
    reasons = _trust_unmet(payload)
    if payload.distance_m > rules.max_distance_m:
        reasons.append(
            {
                "code": HotWorkCode.HOT_WORK_ANALYSIS_TOO_FAR.value,
                "distance_m": payload.distance_m,
                "limit_m": rules.max_distance_m,
            }
        )
    if payload.sampled_at > recorded_at:
        reasons.append({"code": HotWorkCode.HOT_WORK_ANALYSIS_IN_FUTURE.value})
    trusted = [r for r in payload.readings if not set(r.status) & _UNTRUSTED]
    flammable = [r for r in trusted if r.channel in _FLAMMABLE_CHANNELS]
    if not flammable:
        reasons.append({"code": HotWorkCode.HOT_WORK_NO_FLAMMABLE_READING.value})
    for reading in flammable:
        reasons.extend(_flammable_unmet(reading))
    if payload.inside_equipment:
        oxygen = [r for r in trusted if r.channel == "O2"]
        limit = rules.oxygen.max_vol_inside_equipment
        if not oxygen:
            reasons.append({"code": HotWorkCode.HOT_WORK_NO_OXYGEN_READING.value})
        for reading in oxygen:
            vol = reading.value if reading.unit == "%VOL" else units.ppm_to_vol(reading.value)
            if reading.unit == "%LEL" or vol > limit:
                reasons.append(
                    {
                        "code": HotWorkCode.HOT_WORK_OXYGEN_HIGH.value,
                        "value_vol": vol,
                        "limit": limit,
                    }
                )
    return reasons


@dataclass(frozen=True)
class HotWorkState:
    permit_id: str | None = None
    seq: int = 0
    head_hash: str = GENESIS_HASH
    status: HotWorkStatus = HotWorkStatus.NONE
    holder_device: str | None = None
    last_event_at: datetime | None = None

    enterprise_id: str | None = None
    profile_name: str = "cn-gb30871-2022"
    base_level: HotWorkLevel | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    years_without_calendar: tuple[int, ...] = ()  # as the draft recorded them
    fire_points: Mapping[str, FirePoint] = field(default_factory=dict)
    method: str = ""
    work_description: str = ""
    linked_permit_id: str | None = None
    linked_space_id: str | None = None

    people: Mapping[str, PersonSnapshot] = field(default_factory=dict)
    roles: Mapping[HotWorkRole, frozenset[str]] = field(default_factory=dict)
    approved_by: str | None = None
    approved_at: datetime | None = None
    approver_authority: HotWorkAuthority | None = None

    analyses: tuple[Analysis, ...] = ()
    monitoring_detector: str | None = None
    fire_started_at: datetime | None = None  # the last (re)start
    fire_ever_started: bool = False
    interrupted_at: datetime | None = None
    suspended_at: datetime | None = None
    alarms: Mapping[str, int] = field(default_factory=dict)  # active alarm id -> seq
    work_done_at: datetime | None = None
    watch_started_at: datetime | None = None
    watch_confirmed_at: tuple[datetime, ...] = ()
    watch_ended_at: datetime | None = None
    acknowledgements: tuple[HotWorkSimopsAcknowledged, ...] = ()

    # ----------------------------------------------------------- derived

    @property
    def raised_because(self) -> tuple[str, ...]:
        if self.planned_start is None or self.planned_end is None:
            return ()
        return raise_reasons(self.planned_start, self.planned_end, self.years_without_calendar)

    @property
    def level(self) -> HotWorkLevel | None:
        if self.base_level is None or self.planned_start is None or self.planned_end is None:
            return None
        return effective_level(
            self.base_level, self.planned_start, self.planned_end, self.years_without_calendar
        )

    @property
    def validity(self) -> timedelta:
        level = self.level
        if level is None:
            return timedelta(0)
        try:
            return level_rule(level).validity
        except ProfileError:
            return timedelta(0)  # no loadable rules: never valid (fail closed)

    @property
    def expires_at(self) -> datetime | None:
        if self.approved_at is None:
            return None
        by_level = self.approved_at + self.validity
        return by_level if self.planned_end is None else min(by_level, self.planned_end)

    @property
    def fire_watch(self) -> timedelta:
        return hot_work_rules().profile(self.profile_name).fire_watch

    @property
    def fire_watch_ends_at(self) -> datetime | None:
        """When the fire watcher may sign "no residual fire" (the tablet's timer); None
        before the watch, or when the profile cannot be loaded (it never ends then)."""
        if self.watch_started_at is None:
            return None
        try:
            return self.watch_started_at + self.fire_watch
        except ProfileError:
            return None

    def status_at(self, at: datetime) -> HotWorkStatus:
        expires = self.expires_at
        if self.status in _EXPIRABLE and expires is not None and at >= expires:
            return HotWorkStatus.EXPIRED
        return self.status

    def with_role(self, role: HotWorkRole) -> frozenset[str]:
        return self.roles.get(role, frozenset())

    @property
    def operators(self) -> frozenset[str]:
        return self.with_role(HotWorkRole.OPERATOR)

    @property
    def fire_watchers(self) -> frozenset[str]:
        return self.with_role(HotWorkRole.FIRE_WATCHER)

    def latest_analysis(self, fire_point_id: str) -> Analysis | None:
        for analysis in reversed(self.analyses):
            if analysis.fire_point_id == fire_point_id:
                return analysis
        return None

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        level = self.level
        return {
            "permit_id": self.permit_id,
            "permit_type": "hot_work",
            "seq": self.seq,
            "head_hash": self.head_hash,
            "status": (self.status_at(now) if now else self.status).value,
            "folded_status": self.status.value,
            "base_level": self.base_level.value if self.base_level else None,
            "level": level.value if level else None,
            "raised_because": list(self.raised_because),
            "profile": self.profile_name,
            "fire_points": sorted(self.fire_points),
            "operators": sorted(self.operators),
            "fire_watchers": sorted(self.fire_watchers),
            "linked_permit_id": self.linked_permit_id,
            "approved_by": self.approved_by,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "active_alarms": sorted(self.alarms),
            "analyses": [
                {
                    "seq": a.seq,
                    "fire_point_id": a.fire_point_id,
                    "acceptable": a.acceptable,
                    "reasons": [dict(r) for r in a.reasons],
                }
                for a in self.analyses
            ],
            "watch_started_at": self.watch_started_at.isoformat()
            if self.watch_started_at
            else None,
            "watch_ended_at": self.watch_ended_at.isoformat() if self.watch_ended_at else None,
            "fire_watch_ends_at": self.fire_watch_ends_at.isoformat()
            if self.fire_watch_ends_at
            else None,
        }


def _suspend(s: HotWorkState, at: datetime) -> HotWorkState:
    if s.status not in SUSPENDABLE:
        return s
    return replace(s, status=HotWorkStatus.SUSPENDED, suspended_at=at, interrupted_at=None)


def apply_hot_work(state: HotWorkState, event: Event) -> HotWorkState:
    """The state after ``event``. Pure; never raises for a rule."""
    p = event.payload
    at = event.occurred_at
    s = replace(
        state,
        permit_id=state.permit_id or event.permit_id,
        seq=event.seq,
        head_hash=event.hash or state.head_hash,
        last_event_at=at,
        holder_device=state.holder_device or event.device_id,
    )
    status = s.status
    if isinstance(p, HotWorkDrafted):
        if status is HotWorkStatus.NONE:
            s = replace(
                s,
                status=HotWorkStatus.DRAFT,
                enterprise_id=p.enterprise_id,
                profile_name=p.profile,
                base_level=p.base_level,
                planned_start=p.planned_start,
                planned_end=p.planned_end,
                years_without_calendar=p.years_without_calendar,
                fire_points={f.point_id: f for f in p.fire_points},
                method=p.method,
                work_description=p.work_description,
                linked_permit_id=p.linked_permit_id,
                linked_space_id=p.linked_space_id,
            )
    elif isinstance(p, HotWorkRoleAssigned):
        pid = p.person.person_id
        roles = dict(s.roles)
        roles[p.role] = roles.get(p.role, frozenset()) | {pid}
        s = replace(s, people={**s.people, pid: p.person}, roles=roles)
    elif isinstance(p, HotWorkApproved):
        if status is HotWorkStatus.DRAFT:
            s = replace(
                s,
                status=HotWorkStatus.APPROVED,
                approved_by=p.signoff.person_id,
                approved_at=at,
                approver_authority=p.authority,
                people={**s.people, p.approver.person_id: p.approver},
            )
    elif isinstance(p, HotWorkGasAnalysed):
        reasons = tuple(judge_analysis(p, at))
        record = Analysis(event.seq, p.fire_point_id, p.sampled_at, at, not reasons, reasons)
        s = replace(s, analyses=(*s.analyses, record))
        every_point_ok = all(
            (a := s.latest_analysis(fp)) is not None and a.acceptable for fp in s.fire_points
        )
        if status is HotWorkStatus.APPROVED and every_point_ok:
            s = replace(s, status=HotWorkStatus.GAS_OK)
        elif status is HotWorkStatus.GAS_OK and not record.acceptable:
            s = replace(s, status=HotWorkStatus.APPROVED)
        elif status in (HotWorkStatus.ACTIVE, HotWorkStatus.INTERRUPTED) and not record.acceptable:
            s = _suspend(s, at)  # bad gas at a burning job: stop at once
    elif isinstance(p, HotWorkMonitoringStarted):
        s = replace(s, monitoring_detector=p.detector.serial)
    elif isinstance(p, HotWorkMonitoringStopped):
        s = replace(s, monitoring_detector=None)
    elif isinstance(p, HotWorkFireStarted):
        if status in (HotWorkStatus.GAS_OK, HotWorkStatus.INTERRUPTED):
            s = replace(
                s,
                status=HotWorkStatus.ACTIVE,
                fire_started_at=at,
                fire_ever_started=True,
                interrupted_at=None,
            )
    elif isinstance(p, HotWorkInterrupted):
        if status is HotWorkStatus.ACTIVE:
            s = replace(s, status=HotWorkStatus.INTERRUPTED, interrupted_at=at)
    elif isinstance(p, HotWorkDone):
        if status in (HotWorkStatus.ACTIVE, HotWorkStatus.INTERRUPTED):
            s = replace(s, status=HotWorkStatus.WORK_DONE, work_done_at=at)
    elif isinstance(p, HotWorkFireWatchStarted):
        if status is HotWorkStatus.WORK_DONE:
            s = replace(s, status=HotWorkStatus.FIRE_WATCH, watch_started_at=at)
    elif isinstance(p, HotWorkWatchConfirmed):
        s = replace(s, watch_confirmed_at=(*s.watch_confirmed_at, at))
    elif isinstance(p, HotWorkFireWatchEnded):
        if status is HotWorkStatus.FIRE_WATCH:
            s = replace(s, status=HotWorkStatus.WATCH_DONE, watch_ended_at=at)
    elif isinstance(p, HotWorkClosed):
        if status is HotWorkStatus.WATCH_DONE:
            s = replace(s, status=HotWorkStatus.CLOSED)
    elif isinstance(p, HotWorkAlarmRaised):
        s = _suspend(replace(s, alarms={**s.alarms, p.alarm_id: event.seq}), at)
    elif isinstance(p, HotWorkAlarmCleared):
        s = replace(s, alarms={k: v for k, v in s.alarms.items() if k != p.alarm_id})
    elif isinstance(p, HotWorkSuspended):
        s = _suspend(s, at)
    elif isinstance(p, HotWorkResumed):
        if status is HotWorkStatus.SUSPENDED:
            s = replace(s, status=HotWorkStatus.GAS_OK, suspended_at=None)
    elif isinstance(p, HotWorkCancelled):
        if status not in HOT_WORK_TERMINAL:
            s = replace(s, status=HotWorkStatus.CANCELLED)
    elif isinstance(p, HotWorkSimopsAcknowledged):
        s = replace(s, acknowledgements=(*s.acknowledgements, p))
    return s


def fold_hot_work(events: Iterable[Event], state: HotWorkState | None = None) -> HotWorkState:
    current = state or HotWorkState()
    for event in events:
        current = apply_hot_work(current, event)
    return current


def distance_to_fire_points(state: HotWorkState, x: float, y: float, z: float) -> float | None:
    if not state.fire_points:
        return None
    return min(math.dist((x, y, z), (f.x, f.y, f.z)) for f in state.fire_points.values())


def alarm_concerns(
    state: HotWorkState,
    *,
    position: tuple[float, float, float] | None = None,
    space_id: str | None = None,
) -> bool:
    """A flammable alarm at ``position`` (site plan, metres) or in ``space_id``
    concerns this hot work: within the data's distance of a fire point, or in the
    linked confined space. The tablet then records ``hot_work_alarm_raised``."""
    if space_id is not None and space_id == state.linked_space_id:
        return True
    if position is None:
        return False
    distance = distance_to_fire_points(state, *position)
    return distance is not None and distance <= hot_work_rules().alarm.near_fire_point_m
