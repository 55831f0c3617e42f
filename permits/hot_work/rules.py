"""The hot-work permit as a permit type: its reason codes, its rules and ONE table.

Registered with :func:`permits.commands.permit_type.register_permit_type`, so
:func:`permits.commands.check` and ``decide`` run these rules for hot-work events;
nothing in the confined-space rules changes. A link to a confined-space permit is
judged on the snapshot the event carries (docs/rules.md, Hot work).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from permits.commands.codes import Code
from permits.commands.common import countersign_unmet, no_rule, signoff_unmet
from permits.commands.permit_type import PermitType, Step, register_permit_type
from permits.errors import ProfileError, Unmet
from permits.events import (
    Certificate,
    EventType,
    PersonSnapshot,
    SignOff,
    SignOffMeaning,
)
from permits.hot_work.codes import HotWorkCode
from permits.hot_work.data import (
    AUTHORITY_RANK,
    effective_level,
    hot_work_rules,
    level_rule,
    years_without_calendar,
)
from permits.hot_work.events import (
    MANUAL,
    HotWorkAlarmCleared,
    HotWorkAlarmRaised,
    HotWorkApproved,
    HotWorkCancelled,
    HotWorkClosed,
    HotWorkDrafted,
    HotWorkFireStarted,
    HotWorkFireWatchEnded,
    HotWorkFireWatchStarted,
    HotWorkGasAnalysed,
    HotWorkMonitoringStarted,
    HotWorkResumed,
    HotWorkRole,
    HotWorkRoleAssigned,
    HotWorkSimopsAcknowledged,
    HotWorkWatchConfirmed,
)
from permits.hot_work.state import SUSPENDABLE, HotWorkState, HotWorkStatus

__all__ = ["HOT_WORK", "HotWorkCode", "hot_work_duties", "operator_certificate"]


_C = HotWorkCode


def _minutes(delta: Any) -> int:
    return int(delta.total_seconds() // 60)


def operator_certificate(person: PersonSnapshot, day: date) -> Certificate | None:
    """The person's welding and hot-cutting certificate valid on ``day`` (the kind is
    profile data), or None: an operator without one is refused."""
    kind = hot_work_rules().operators.certificate
    return next((c for c in person.certificates if c.kind == kind and c.valid_until >= day), None)


def _certified(person: PersonSnapshot, at: datetime) -> bool:
    return operator_certificate(person, at.date()) is not None


def drafted(state: HotWorkState, p: HotWorkDrafted, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    rules = hot_work_rules()
    if p.profile not in rules.profiles:
        unmet.append(Unmet(_C.HOT_WORK_PROFILE_UNKNOWN, {"profile": p.profile}))
    ids = [f.point_id for f in p.fire_points]
    for point in sorted({i for i in ids if ids.count(i) > 1}):
        unmet.append(Unmet(_C.HOT_WORK_FIRE_POINT_DUPLICATE, {"point": point}))
    # A year without a holiday calendar is not refused: its days count as holidays (the
    # level goes up, data.raise_reasons), and the draft must say so, so that a calendar
    # installed later leaves the permit as it was written (docs/rules.md, Hot work).
    gaps = years_without_calendar(p.planned_start, p.planned_end)
    for year in gaps:
        if year not in p.years_without_calendar:
            unmet.append(Unmet(_C.HOT_WORK_CALENDAR_MISSING, {"year": year}))
    level = effective_level(p.base_level, p.planned_start, p.planned_end, p.years_without_calendar)
    validity = level_rule(level).validity
    if p.planned_end - p.planned_start > validity:
        unmet.append(
            Unmet(
                _C.HOT_WORK_WINDOW_TOO_LONG,
                {
                    "level": level.value,
                    "hours": validity.total_seconds() / 3600,
                    "asked": round((p.planned_end - p.planned_start).total_seconds() / 3600, 2),
                },
            )
        )
    return unmet


def role_assigned(state: HotWorkState, p: HotWorkRoleAssigned, now: datetime) -> list[Unmet]:
    pid = p.person.person_id
    facts = {"person": pid}
    unmet: list[Unmet] = []
    if p.role is HotWorkRole.OPERATOR:
        if not _certified(p.person, now):
            unmet.append(Unmet(_C.HOT_WORK_OPERATOR_NOT_CERTIFIED, facts))
        if pid in state.fire_watchers:
            unmet.append(Unmet(_C.HOT_WORK_WATCHER_IS_OPERATOR, facts))
    if p.role is HotWorkRole.FIRE_WATCHER and pid in state.operators:
        unmet.append(Unmet(_C.HOT_WORK_WATCHER_IS_OPERATOR, facts))
    return unmet


def approved(state: HotWorkState, p: HotWorkApproved, now: datetime) -> list[Unmet]:
    unmet = signoff_unmet(state, p.signoff, SignOffMeaning.APPROVE, now)
    if p.signoff.person_id != p.approver.person_id:
        unmet.append(
            Unmet(
                _C.HOT_WORK_APPROVER_MISMATCH,
                {"person": p.signoff.person_id, "approver": p.approver.person_id},
            )
        )
    level = state.level
    if level is not None:
        required = level_rule(level).approver
        if AUTHORITY_RANK[p.authority] < AUTHORITY_RANK[required]:
            unmet.append(
                Unmet(
                    _C.HOT_WORK_APPROVER_NOT_AUTHORISED,
                    {
                        "level": level.value,
                        "required": required.value,
                        "authority": p.authority.value,
                    },
                )
            )
    if not state.operators:
        unmet.append(Unmet(_C.HOT_WORK_NO_OPERATOR))
    if not state.fire_watchers:
        unmet.append(Unmet(_C.HOT_WORK_NO_FIRE_WATCHER))
    return unmet


def _point_known(state: HotWorkState, point: str) -> list[Unmet]:
    if point in state.fire_points:
        return []
    return [Unmet(_C.HOT_WORK_FIRE_POINT_UNKNOWN, {"point": point})]


def gas_analysed(state: HotWorkState, p: HotWorkGasAnalysed, now: datetime) -> list[Unmet]:
    """A known fire point; typed values (``MANUAL``) countersigned by a second person
    (docs/rules.md, Hot work: gas analysis)."""
    unmet = _point_known(state, p.fire_point_id)
    if any(MANUAL in r.status for r in p.readings):
        unmet.extend(countersign_unmet(state, p.countersign, p.analysed_by, now))
    return unmet


def monitoring_started(
    state: HotWorkState, p: HotWorkMonitoringStarted, now: datetime
) -> list[Unmet]:
    return _point_known(state, p.fire_point_id)


def _watcher_unmet(
    state: HotWorkState, signoff: SignOff, meaning: SignOffMeaning, now: datetime
) -> list[Unmet]:
    unmet = signoff_unmet(state, signoff, meaning, now)
    person = signoff.person_id
    if person not in state.fire_watchers or person in state.operators:
        unmet.append(Unmet(_C.HOT_WORK_WATCHER_NOT_PRESENT, {"person": person}))
    return unmet


def _alarms_unmet(state: HotWorkState) -> list[Unmet]:
    if state.alarms:
        return [Unmet(_C.HOT_WORK_ALARM_ACTIVE, {"alarms": ", ".join(sorted(state.alarms))})]
    return []


def analysis_unmet(state: HotWorkState, now: datetime) -> list[Unmet]:
    """GB 30871 5.3.1 at a fire (re)start: every fire point's latest analysis passes and
    is young enough: 30 min before the fire, or, after an interruption no longer than
    the level allows, within a day; after a longer one it follows the interruption."""
    rules = hot_work_rules().analysis
    level = state.level
    short_break = False
    interruption = None
    if state.status is HotWorkStatus.INTERRUPTED and state.interrupted_at is not None:
        interruption = now - state.interrupted_at
        limit = level_rule(level).reanalysis_after if level else None
        short_break = limit is not None and interruption <= limit
    max_age = rules.max_age_while_working if short_break else rules.max_age_before_fire
    unmet: list[Unmet] = []
    for point in sorted(state.fire_points):
        latest = state.latest_analysis(point)
        if latest is None:
            unmet.append(Unmet(_C.HOT_WORK_NO_ANALYSIS, {"point": point}))
            continue
        if not latest.acceptable:
            unmet.append(Unmet(_C.HOT_WORK_ANALYSIS_FAILED, {"point": point}))
        age = now - latest.sampled_at
        if age > max_age:
            unmet.append(
                Unmet(
                    _C.HOT_WORK_ANALYSIS_TOO_OLD,
                    {"point": point, "age_min": _minutes(age), "limit_min": _minutes(max_age)},
                )
            )
        if (
            interruption is not None
            and not short_break
            and state.interrupted_at is not None
            and latest.sampled_at < state.interrupted_at
        ):
            unmet.append(
                Unmet(
                    _C.HOT_WORK_REANALYSIS_NEEDED,
                    {"point": point, "minutes": _minutes(interruption)},
                )
            )
    if (
        level is not None
        and level_rule(level).continuous_monitoring
        and not state.monitoring_detector
    ):
        unmet.append(Unmet(_C.HOT_WORK_MONITORING_REQUIRED))
    return unmet


def _link_unmet(state: HotWorkState, p: HotWorkFireStarted) -> list[Unmet]:
    linked = state.linked_permit_id
    if linked is None:
        return []
    snap = p.linked
    if snap is None or snap.permit_id != linked or snap.space_id != state.linked_space_id:
        return [Unmet(_C.HOT_WORK_LINKED_PERMIT_MISSING, {"permit": linked})]
    if snap.status != "active":
        return [
            Unmet(_C.HOT_WORK_LINKED_PERMIT_NOT_ACTIVE, {"permit": linked, "status": snap.status})
        ]
    return []


def fire_started(state: HotWorkState, p: HotWorkFireStarted, now: datetime) -> list[Unmet]:
    unmet = _watcher_unmet(state, p.watcher, SignOffMeaning.GUARD, now)
    for person in sorted(state.operators):
        if not _certified(state.people[person], now):
            unmet.append(Unmet(_C.HOT_WORK_OPERATOR_NOT_CERTIFIED, {"person": person}))
    if state.planned_start is not None and now < state.planned_start:
        unmet.append(Unmet(_C.HOT_WORK_BEFORE_WINDOW, {"start": state.planned_start.isoformat()}))
    unmet += _alarms_unmet(state)
    unmet += analysis_unmet(state, now)
    unmet += _link_unmet(state, p)
    return unmet


def resumed(state: HotWorkState, p: HotWorkResumed, now: datetime) -> list[Unmet]:
    """A suspended job resumes only on a new passing analysis at every fire point."""
    unmet = _alarms_unmet(state)
    since = state.suspended_at
    max_age = hot_work_rules().analysis.max_age_before_fire
    for point in sorted(state.fire_points):
        latest = state.latest_analysis(point)
        if (
            latest is None
            or not latest.acceptable
            or since is None
            or latest.sampled_at <= since
            or now - latest.sampled_at > max_age
        ):
            unmet.append(Unmet(_C.HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS, {"point": point}))
    return unmet


def watch_started(state: HotWorkState, p: HotWorkFireWatchStarted, now: datetime) -> list[Unmet]:
    return _watcher_unmet(state, p.watcher, SignOffMeaning.GUARD, now)


def watch_confirmed(state: HotWorkState, p: HotWorkWatchConfirmed, now: datetime) -> list[Unmet]:
    return _watcher_unmet(state, p.watcher, SignOffMeaning.GUARD, now)


def watch_ended(state: HotWorkState, p: HotWorkFireWatchEnded, now: datetime) -> list[Unmet]:
    unmet = _watcher_unmet(state, p.watcher, SignOffMeaning.CLOSE, now)
    started = state.watch_started_at
    required = state.fire_watch
    if started is None or now - started < required:
        elapsed = now - started if started else required * 0
        unmet.append(
            Unmet(
                _C.HOT_WORK_FIRE_WATCH_TOO_SHORT,
                {"elapsed_min": _minutes(elapsed), "required_min": _minutes(required)},
            )
        )
    if not any(started is not None and t >= started for t in state.watch_confirmed_at):
        unmet.append(Unmet(_C.HOT_WORK_WATCH_PRESENCE_NOT_CONFIRMED))
    return unmet


def closed(state: HotWorkState, p: HotWorkClosed, now: datetime) -> list[Unmet]:
    unmet = signoff_unmet(state, p.signoff, SignOffMeaning.CLOSE, now)
    person = p.signoff.person_id
    if person != state.approved_by and person not in state.with_role(HotWorkRole.WORK_LEADER):
        unmet.append(Unmet(Code.CLOSE_SIGNER_NOT_RESPONSIBLE, {"person": person}))
    return unmet


def alarm_raised(state: HotWorkState, p: HotWorkAlarmRaised, now: datetime) -> list[Unmet]:
    if p.alarm_id in state.alarms:
        return [Unmet(Code.ALARM_ALREADY_ACTIVE, {"alarm": p.alarm_id})]
    return []


def alarm_cleared(state: HotWorkState, p: HotWorkAlarmCleared, now: datetime) -> list[Unmet]:
    if p.alarm_id not in state.alarms:
        return [Unmet(Code.ALARM_NOT_ACTIVE, {"alarm": p.alarm_id})]
    return []


def cancelled(state: HotWorkState, p: HotWorkCancelled, now: datetime) -> list[Unmet]:
    if state.fire_ever_started and state.status is not HotWorkStatus.WATCH_DONE:
        return [Unmet(_C.HOT_WORK_FIRE_WATCH_OWED)]
    return []


def simops_acknowledged(
    state: HotWorkState, p: HotWorkSimopsAcknowledged, now: datetime
) -> list[Unmet]:
    unmet = signoff_unmet(state, p.signoff, SignOffMeaning.APPROVE, now)
    if p.signoff.person_id != state.approved_by:
        unmet.append(Unmet(_C.HOT_WORK_ACK_NOT_APPROVER, {"person": p.signoff.person_id}))
    return unmet


def hot_work_duties(state: HotWorkState, now: datetime) -> list[Unmet]:
    """What the tablet shows while the fire burns (not a refusal): the daily analysis
    and, for 特级, continuous monitoring."""
    if state.status not in (HotWorkStatus.ACTIVE, HotWorkStatus.INTERRUPTED):
        return []
    rules = hot_work_rules().analysis
    owed: list[Unmet] = []
    for point in sorted(state.fire_points):
        latest = state.latest_analysis(point)
        if latest is None or now - latest.sampled_at > rules.max_age_while_working:
            owed.append(
                Unmet(
                    _C.HOT_WORK_ANALYSIS_DAILY_DUE,
                    {"point": point, "hours": rules.max_age_while_working_hours},
                )
            )
    level = state.level
    try:
        continuous = level is not None and level_rule(level).continuous_monitoring
    except ProfileError:
        continuous = True
    if continuous and not state.monitoring_detector:
        owed.append(Unmet(_C.HOT_WORK_MONITORING_REQUIRED))
    return owed


S = HotWorkStatus
_ANY = frozenset(S) - {S.NONE}
_OPEN = _ANY - {S.CLOSED, S.CANCELLED}
_BEFORE_WATCH = frozenset({S.DRAFT, S.APPROVED, S.GAS_OK, S.ACTIVE, S.INTERRUPTED, S.SUSPENDED})

_TABLE: dict[EventType, Step] = {
    EventType.HOT_WORK_DRAFTED: Step(frozenset({S.NONE}), drafted),
    EventType.HOT_WORK_ROLE_ASSIGNED: Step(
        frozenset({S.DRAFT, S.APPROVED, S.GAS_OK, S.SUSPENDED}), role_assigned
    ),
    EventType.HOT_WORK_APPROVED: Step(frozenset({S.DRAFT}), approved),
    EventType.HOT_WORK_GAS_ANALYSED: Step(_BEFORE_WATCH, gas_analysed),
    EventType.HOT_WORK_MONITORING_STARTED: Step(_BEFORE_WATCH, monitoring_started),
    EventType.HOT_WORK_MONITORING_STOPPED: Step(_ANY, no_rule),
    # The fire starts only within validity (the status at the instant, expiry included).
    EventType.HOT_WORK_FIRE_STARTED: Step(frozenset({S.GAS_OK, S.INTERRUPTED}), fire_started),
    # Putting the fire out, watching and alarms are never refused by the clock.
    EventType.HOT_WORK_INTERRUPTED: Step(frozenset({S.ACTIVE}), no_rule, status_at_instant=False),
    EventType.HOT_WORK_DONE: Step(
        frozenset({S.ACTIVE, S.INTERRUPTED}), no_rule, status_at_instant=False
    ),
    EventType.HOT_WORK_FIRE_WATCH_STARTED: Step(frozenset({S.WORK_DONE}), watch_started),
    EventType.HOT_WORK_WATCH_CONFIRMED: Step(frozenset({S.FIRE_WATCH}), watch_confirmed),
    EventType.HOT_WORK_FIRE_WATCH_ENDED: Step(frozenset({S.FIRE_WATCH}), watch_ended),
    EventType.HOT_WORK_CLOSED: Step(frozenset({S.WATCH_DONE}), closed),
    EventType.HOT_WORK_ALARM_RAISED: Step(_ANY, alarm_raised, status_at_instant=False),
    EventType.HOT_WORK_ALARM_CLEARED: Step(_ANY, alarm_cleared, status_at_instant=False),
    EventType.HOT_WORK_SUSPENDED: Step(SUSPENDABLE, no_rule, status_at_instant=False),
    EventType.HOT_WORK_RESUMED: Step(frozenset({S.SUSPENDED}), resumed),
    EventType.HOT_WORK_CANCELLED: Step(_OPEN, cancelled, status_at_instant=False),
    EventType.HOT_WORK_SIMOPS_ACKNOWLEDGED: Step(
        _OPEN - {S.DRAFT}, simops_acknowledged, status_at_instant=False
    ),
}

HOT_WORK = register_permit_type(
    PermitType(
        name="hot_work",
        statuses=frozenset(HotWorkStatus),
        initial=HotWorkStatus.NONE,
        opening=EventType.HOT_WORK_DRAFTED,
        table=_TABLE,
    )
)
