"""Close-out and lifecycle: drafting, alarms, suspension and resumption, close,
expiry and device handover.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from permits.commands.codes import Code
from permits.commands.common import inside_unmet, signoff_unmet
from permits.errors import ProfileError, Unmet
from permits.events import (
    AlarmCleared,
    AlarmRaised,
    Closed,
    DeviceHandover,
    Drafted,
    EventType,
    Payload,
    Resumed,
    Role,
    SignOffMeaning,
)
from permits.profiles import load_profile, profile_for
from permits.reference.rules import reference_rules
from permits.state import TERMINAL, PermitState, Status

__all__ = [
    "alarm_cleared",
    "alarm_raised",
    "closed",
    "device_handover",
    "drafted",
    "expired",
    "resumed",
    "suspended",
]


def drafted(state: PermitState, p: Drafted, now: datetime) -> list[Unmet]:
    unmet = _ledger_age_unmet(state, p, now)
    try:
        load_profile(p.space.profile)
    except ProfileError as exc:
        return [
            *unmet,
            Unmet(Code.PERMIT_PROFILE_UNKNOWN, {"profile": p.space.profile, "detail": str(exc)}),
        ]
    try:
        profile = profile_for(p.space.profile, p.space.profile_override)
    except ProfileError as exc:
        return [
            *unmet,
            Unmet(
                Code.PERMIT_PROFILE_OVERRIDE_INVALID,
                {"profile": p.space.profile, "detail": str(exc)},
            ),
        ]
    max_minutes = profile.permit_validity.total_seconds() / 60
    if p.validity_minutes is not None and p.validity_minutes > max_minutes:
        unmet.append(
            Unmet(
                Code.VALIDITY_TOO_LONG, {"minutes": p.validity_minutes, "max_minutes": max_minutes}
            )
        )
    return unmet


def _ledger_age_unmet(state: PermitState, p: Drafted, now: datetime) -> list[Unmet]:
    """A permit is drafted on a ledger copy younger than the limit (permits/data/
    reference.toml, ``[ledger]``), or a supervisor signs why it cannot wait for a sync."""
    if p.ledger_as_of is None:
        return []  # a chain from before the tablet recorded its ledger's age
    age = now - p.ledger_as_of
    limit = timedelta(days=reference_rules().ledger.max_age_days)
    if age <= limit:
        return []
    override = p.stale_ledger_override
    if override is None:
        return [
            Unmet(
                Code.PERMIT_LEDGER_TOO_OLD,
                {
                    "age_days": round(age.total_seconds() / 86400, 1),
                    "max_days": reference_rules().ledger.max_age_days,
                    "ledger_as_of": p.ledger_as_of.isoformat(),
                },
            )
        ]
    unmet = signoff_unmet(state, override, SignOffMeaning.OVERRIDE_STALE_LEDGER, now)
    if not p.stale_ledger_reason.strip():
        unmet.append(Unmet(Code.PERMIT_LEDGER_OVERRIDE_NO_REASON, {"person": override.person_id}))
    return unmet


def alarm_raised(state: PermitState, p: AlarmRaised, now: datetime) -> list[Unmet]:
    if p.alarm_id in state.alarms:
        return [Unmet(Code.ALARM_ALREADY_ACTIVE, {"alarm": p.alarm_id})]
    return []


def alarm_cleared(state: PermitState, p: AlarmCleared, now: datetime) -> list[Unmet]:
    if p.alarm_id not in state.alarms:
        return [Unmet(Code.ALARM_NOT_ACTIVE, {"alarm": p.alarm_id})]
    return []


def suspended(state: PermitState, payload: Payload, now: datetime) -> list[Unmet]:
    return inside_unmet(state)


def resumed(state: PermitState, p: Resumed, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    test = state.test_by_seq(p.test_seq)
    latest = state.latest_test
    suspended_seq = state.suspended_seq or 0
    interruption = now - (state.suspended_at or now)
    profile = state.profile
    # A zero threshold means "any interruption": a suspension is one, however short.
    need_new = (
        state.after_evacuation
        or profile.retest_after_interruption == timedelta(0)
        or profile.needs_retest_after(interruption)
    )
    ok = test is not None and test is latest and test.acceptable
    if ok and need_new and test is not None and test.seq < suspended_seq:
        ok = False
    if not ok:
        unmet.append(Unmet(Code.RESUME_NEEDS_NEW_TEST, {"test_seq": p.test_seq}))
    if state.alarms:
        unmet.append(Unmet(Code.RESUME_ALARM_ACTIVE, {"alarms": ", ".join(sorted(state.alarms))}))
    return unmet


def closed(state: PermitState, p: Closed, now: datetime) -> list[Unmet]:
    unmet = inside_unmet(state)
    if state.locks_on:
        unmet.append(Unmet(Code.LOCKS_STILL_ON, {"locks": ", ".join(state.locks_on)}))
    responsible = state.with_role(Role.WORK_LEADER) | state.with_role(Role.APPROVER)
    if p.signoff.person_id not in responsible:
        unmet.append(Unmet(Code.CLOSE_SIGNER_NOT_RESPONSIBLE, {"person": p.signoff.person_id}))
    unmet.extend(signoff_unmet(state, p.signoff, SignOffMeaning.CLOSE, now))
    return unmet


def expired(state: PermitState, payload: Payload, now: datetime) -> list[Unmet]:
    expires = state.expires_at
    if state.status in TERMINAL or state.status in (Status.NONE, Status.DRAFT):
        return [
            Unmet(
                Code.NOT_ALLOWED_IN_STATUS,
                {
                    "action": EventType.EXPIRED.value,
                    "status": state.status.value,
                    "allowed": "approved",
                },
            )
        ]
    if expires is None or now < expires:
        return [
            Unmet(Code.NOT_YET_EXPIRED, {"expires_at": expires.isoformat() if expires else "-"})
        ]
    return []


def device_handover(state: PermitState, p: DeviceHandover, now: datetime) -> list[Unmet]:
    if p.to_device_id == state.holder_device:
        return [Unmet(Code.SAME_DEVICE, {"device": p.to_device_id})]
    return []
