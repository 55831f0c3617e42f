"""Commands: pure functions ``(state, input, now) -> Event``.

A command builds the next event of a permit from a typed payload (the
command's input) and checks it against the state before it. If any rule is not
met it raises :class:`~permits.errors.RuleViolation` naming every unmet
condition; otherwise it returns the event unsealed (``prev_hash``, ``hash`` and
``sig`` empty; :func:`permits.integrity.seal` fills them).

The checks are kept apart from the building (:func:`check`, one rule function
per event type in :data:`RULES`), so :mod:`permits.replay` runs exactly the
same rules over a received chain.

Exit is accepted in every state; so are alarms, readings chunks and an
evacuation order: the tablet must always be able to record what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from permits.atmosphere import parse_test
from permits.errors import InvalidInput, ProfileError, RuleViolation, Unmet
from permits.events import (
    AlarmCleared,
    AlarmRaised,
    ApprovalAuthority,
    Approved,
    AtmosphereTestRecorded,
    BriefingSigned,
    Closed,
    DeviceHandover,
    Drafted,
    EntrantEntered,
    EntrantExited,
    EquipmentConfirmed,
    Event,
    EventType,
    GuardianHandover,
    GuardianLeft,
    GuardianOnDuty,
    IsolationApplied,
    IsolationRemoved,
    IsolationVerified,
    MonitoringSnapshot,
    MonitoringStopped,
    Payload,
    PersonalLockApplied,
    PersonalLockRemoved,
    ReadingsConfirmed,
    Resumed,
    Role,
    RoleAssigned,
    SignOff,
    SignOffMeaning,
    new_event,
)
from permits.integrity import DeviceKey, seal
from permits.interlock import (
    approval_authorised,
    entry_unmet,
    training_valid,
)
from permits.loto import (
    ALREADY_VERIFIED,
    ISOLATION_METHOD_UNSUITABLE,
    ISOLATION_POINT_UNKNOWN,
    LOCK_ALREADY_ON,
    LOCK_NOT_ON,
    LOCK_OWNER_INSIDE,
    LOCKBOX_HAS_PERSONAL_LOCKS,
    LOCKBOX_UNKNOWN,
    METHODS_FOR_KIND,
    VERIFIER_IS_APPLIER,
    removal_unmet,
)
from permits.messages import register
from permits.profiles import load_profile
from permits.state import TERMINAL, PermitState, Status, apply, test_input

__all__ = [
    "ALLOWED",
    "RULES",
    "PermitSession",
    "check",
    "decide",
    "draft",
    "enter",
    "exit_",
    "raise_alarm",
]


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when rendered."""
    return message


NO_PERMIT = "NO_PERMIT"
PERMIT_ALREADY_DRAFTED = "PERMIT_ALREADY_DRAFTED"
WRONG_PERMIT_EVENT = "WRONG_PERMIT_EVENT"
OUT_OF_SEQUENCE = "OUT_OF_SEQUENCE"
NOT_ALLOWED_IN_STATUS = "NOT_ALLOWED_IN_STATUS"
VALIDITY_TOO_LONG = "VALIDITY_TOO_LONG"
SIGNOFF_WRONG_MEANING = "SIGNOFF_WRONG_MEANING"
SIGNOFF_PIN_NOT_VERIFIED = "SIGNOFF_PIN_NOT_VERIFIED"
SIGNOFF_STALE_STATE = "SIGNOFF_STALE_STATE"
SIGNOFF_IN_FUTURE = "SIGNOFF_IN_FUTURE"
PERSON_TRAINING_INVALID = "PERSON_TRAINING_INVALID"
PERSON_CONTRACTOR_BLACKLISTED = "PERSON_CONTRACTOR_BLACKLISTED"
ROLE_CONFLICT = "ROLE_CONFLICT"
APPROVER_NOT_ASSIGNED = "APPROVER_NOT_ASSIGNED"
APPROVER_LACKS_AUTHORITY = "APPROVER_LACKS_AUTHORITY"
DELEGATION_MISSING = "DELEGATION_MISSING"
NO_HAZARD_IDENTIFIED = "NO_HAZARD_IDENTIFIED"
GUARDIAN_NOT_ASSIGNED = "GUARDIAN_NOT_ASSIGNED"
GUARDIAN_ALREADY_ON_DUTY = "GUARDIAN_ALREADY_ON_DUTY"
GUARDIAN_NOT_CURRENT = "GUARDIAN_NOT_CURRENT"
GUARDIAN_MUST_BE_ENTRANT_FREE = "GUARDIAN_MUST_BE_ENTRANT_FREE"
HANDOVER_SAME_PERSON = "HANDOVER_SAME_PERSON"
CONFIRMER_NOT_GUARDIAN = "CONFIRMER_NOT_GUARDIAN"
EQUIPMENT_ITEM_UNKNOWN = "EQUIPMENT_ITEM_UNKNOWN"
MANUAL_TEST_NOT_COUNTERSIGNED = "MANUAL_TEST_NOT_COUNTERSIGNED"
COUNTERSIGN_SAME_PERSON = "COUNTERSIGN_SAME_PERSON"
DETECTOR_MISMATCH = "DETECTOR_MISMATCH"
NOT_AN_ENTRANT = "NOT_AN_ENTRANT"
READINGS_NOT_LATEST_PASSING = "READINGS_NOT_LATEST_PASSING"
ENTRANT_NOT_INSIDE = "ENTRANT_NOT_INSIDE"
ENTRANTS_INSIDE = "ENTRANTS_INSIDE"
LOCKS_STILL_ON = "LOCKS_STILL_ON"
ALARM_NOT_ACTIVE = "ALARM_NOT_ACTIVE"
ALARM_ALREADY_ACTIVE = "ALARM_ALREADY_ACTIVE"
RESUME_NEEDS_NEW_TEST = "RESUME_NEEDS_NEW_TEST"
RESUME_ALARM_ACTIVE = "RESUME_ALARM_ACTIVE"
CLOSE_SIGNER_NOT_RESPONSIBLE = "CLOSE_SIGNER_NOT_RESPONSIBLE"
NOT_YET_EXPIRED = "NOT_YET_EXPIRED"
MONITORING_ALREADY_LIVE = "MONITORING_ALREADY_LIVE"
MONITORING_NOT_LIVE = "MONITORING_NOT_LIVE"
MONITORING_STOP_WHILE_INSIDE = "MONITORING_STOP_WHILE_INSIDE"
VENTILATION_STOP_WHILE_INSIDE = "VENTILATION_STOP_WHILE_INSIDE"
SAME_DEVICE = "SAME_DEVICE"
PERMIT_PROFILE_UNKNOWN = "PERMIT_PROFILE_UNKNOWN"
ATMOSPHERE_TEST_INVALID = "ATMOSPHERE_TEST_INVALID"

_M = [
    (NO_PERMIT, N_("there is no permit yet"), N_("draft the permit first")),
    (
        PERMIT_ALREADY_DRAFTED,
        N_("permit {permit} has already been drafted"),
        N_("continue the existing permit"),
    ),
    (
        WRONG_PERMIT_EVENT,
        N_("the event is for permit {got}, not {expected}"),
        N_("record the event on the right permit"),
    ),
    (
        OUT_OF_SEQUENCE,
        N_("event number {got} does not follow {expected}"),
        N_("pull the permit's latest events and try again"),
    ),
    (
        NOT_ALLOWED_IN_STATUS,
        N_("{action} is not allowed while the permit is {status}"),
        N_("this is possible only while the permit is {allowed}"),
    ),
    (
        VALIDITY_TOO_LONG,
        N_("a validity of {minutes} min is longer than the profile allows ({max_minutes} min)"),
        N_("choose a validity within the profile's limit"),
    ),
    (
        SIGNOFF_WRONG_MEANING,
        N_("{person}'s signature means {got}, not {expected}"),
        N_("sign again for the right purpose"),
    ),
    (
        SIGNOFF_PIN_NOT_VERIFIED,
        N_("{person}'s PIN was not verified on the tablet"),
        N_("{person} enters their PIN and signs again"),
    ),
    (
        SIGNOFF_STALE_STATE,
        N_("{person} signed a different state of the permit"),
        N_("show {person} the current permit and have them sign again"),
    ),
    (
        SIGNOFF_IN_FUTURE,
        N_("{person}'s signature is dated after the event"),
        N_("check the tablet clock and sign again"),
    ),
    (
        PERSON_TRAINING_INVALID,
        N_("{person} has no valid confined-space training on {date}"),
        N_("untrained people may not take part (MEM13 Art. 9): renew the training first"),
    ),
    (
        PERSON_CONTRACTOR_BLACKLISTED,
        N_("{person}'s employer {contractor} is blacklisted"),
        N_("choose a person from an approved contractor"),
    ),
    (
        ROLE_CONFLICT,
        N_("{person} cannot be both {role} and {other}"),
        N_("the guardian never enters: assign a different person"),
    ),
    (
        APPROVER_NOT_ASSIGNED,
        N_("{person} is not assigned as approver of this permit"),
        N_("assign {person} as approver first"),
    ),
    (
        APPROVER_LACKS_AUTHORITY,
        N_("{person} has no authority to approve {space} ({required})"),
        N_("the principal (主要负责人) or a written delegate must approve a key-supervision space"),
    ),
    (
        DELEGATION_MISSING,
        N_("{person} is a delegate but no written delegation is recorded"),
        N_("record the written delegation's reference"),
    ),
    (
        NO_HAZARD_IDENTIFIED,
        N_("no hazard has been identified on this permit"),
        N_("identify the hazards of the space and the work before approval"),
    ),
    (
        GUARDIAN_NOT_ASSIGNED,
        N_("{person} is not assigned as guardian of this permit"),
        N_("assign {person} as guardian first"),
    ),
    (
        GUARDIAN_ALREADY_ON_DUTY,
        N_("{person} is already the guardian on duty"),
        N_("use a signed guardian handover"),
    ),
    (
        GUARDIAN_NOT_CURRENT,
        N_("{person} is not the guardian on duty"),
        N_("only the guardian on duty can hand over or leave"),
    ),
    (
        GUARDIAN_MUST_BE_ENTRANT_FREE,
        N_("{person} is an entrant and cannot be the guardian"),
        N_("assign a guardian who does not enter"),
    ),
    (
        HANDOVER_SAME_PERSON,
        N_("a guardian cannot hand over to themselves"),
        N_("choose the incoming guardian"),
    ),
    (
        CONFIRMER_NOT_GUARDIAN,
        N_("{person} is not the guardian on duty"),
        N_("the guardian on duty confirms the equipment item by item"),
    ),
    (
        EQUIPMENT_ITEM_UNKNOWN,
        N_("{item} is not required equipment for this space"),
        N_("confirm the items the space requires"),
    ),
    (
        MANUAL_TEST_NOT_COUNTERSIGNED,
        N_("a manually entered atmosphere test needs a countersign"),
        N_("a second person checks the detector's display and countersigns"),
    ),
    (
        COUNTERSIGN_SAME_PERSON,
        N_("{person} cannot countersign their own test"),
        N_("a second person must countersign"),
    ),
    (
        DETECTOR_MISMATCH,
        N_("the test names detector {got} but the record names {expected}"),
        N_("record the test from the detector that took it"),
    ),
    (
        NOT_AN_ENTRANT,
        N_("{person} is not an entrant of this permit"),
        N_("add {person} to the roster first"),
    ),
    (
        READINGS_NOT_LATEST_PASSING,
        N_("event {test_seq} is not the latest passing test"),
        N_("confirm the readings of the latest passing test"),
    ),
    (ENTRANT_NOT_INSIDE, N_("{person} is not recorded inside"), N_("nothing to record")),
    (ENTRANTS_INSIDE, N_("people are still inside: {people}"), N_("everyone must exit first")),
    (
        LOCKS_STILL_ON,
        N_("locks are still on: {locks}"),
        N_("each lock must be removed by the person who applied it"),
    ),
    (ALARM_NOT_ACTIVE, N_("alarm {alarm} is not active"), N_("check the alarm id")),
    (ALARM_ALREADY_ACTIVE, N_("alarm {alarm} is already active"), N_("use a new alarm id")),
    (
        RESUME_NEEDS_NEW_TEST,
        N_("the permit can resume only on a passing test made after the interruption"),
        N_("ventilate, test the atmosphere again, then resume"),
    ),
    (
        RESUME_ALARM_ACTIVE,
        N_("an alarm is still active: {alarms}"),
        N_("find the cause and clear the alarm first"),
    ),
    (
        CLOSE_SIGNER_NOT_RESPONSIBLE,
        N_("{person} is neither the work leader nor the approver"),
        N_("the work leader or the approver signs the close"),
    ),
    (NOT_YET_EXPIRED, N_("the permit is valid until {expires_at}"), N_("nothing to record")),
    (MONITORING_ALREADY_LIVE, N_("monitoring by {detector} is already live"), N_("stop it first")),
    (MONITORING_NOT_LIVE, N_("no monitoring by {detector} is live"), N_("nothing to stop")),
    (
        MONITORING_STOP_WHILE_INSIDE,
        N_("continuous monitoring cannot stop while people are inside: {people}"),
        N_("everyone exits first"),
    ),
    (
        VENTILATION_STOP_WHILE_INSIDE,
        N_("ventilation cannot stop while people are inside: {people}"),
        N_("ventilation runs for the whole job (MEM13 Art. 15); everyone exits first"),
    ),
    (SAME_DEVICE, N_("the permit is already on device {device}"), N_("choose the new device")),
    (
        ATMOSPHERE_TEST_INVALID,
        N_("the atmosphere test is not readable at {field}: expected {expected}"),
        N_("record the test again from the detector"),
    ),
    (
        PERMIT_PROFILE_UNKNOWN,
        N_("the permit's atmosphere profile {profile} cannot be loaded"),
        N_("draft the permit with one of the installed profiles"),
    ),
]
for _code, _msg, _remedy in _M:
    register(_code, _msg, _remedy)


Rule = Callable[[PermitState, Event, datetime], list[Unmet]]

_OPEN = frozenset({Status.DRAFT, Status.APPROVED, Status.ACTIVE, Status.SUSPENDED})
_LIVE = frozenset(
    {
        Status.DRAFT,
        Status.APPROVED,
        Status.ACTIVE,
        Status.EVACUATING,
        Status.SUSPENDED,
        Status.CLOSING,
    }
)
_ANY = frozenset(Status) - {Status.NONE}

# Statuses (at the event's instant, expiry included) in which each event may be recorded.
ALLOWED: dict[EventType, frozenset[Status]] = {
    EventType.DRAFTED: frozenset({Status.NONE}),
    EventType.ROLE_ASSIGNED: _OPEN,
    EventType.HAZARD_IDENTIFIED: _LIVE,
    EventType.ISOLATION_APPLIED: _OPEN,
    EventType.ISOLATION_VERIFIED: _OPEN,
    EventType.PERSONAL_LOCK_APPLIED: _OPEN,
    EventType.PERSONAL_LOCK_REMOVED: _ANY,
    EventType.VENTILATION_STARTED: _LIVE,
    EventType.VENTILATION_STOPPED: _ANY,
    EventType.EQUIPMENT_CONFIRMED: _OPEN,
    EventType.ATMOSPHERE_TEST_RECORDED: _LIVE,
    EventType.MONITORING_STARTED: _LIVE,
    EventType.MONITORING_STOPPED: _ANY,
    EventType.READINGS_CONFIRMED: _OPEN,
    EventType.BRIEFING_SIGNED: _OPEN,
    EventType.APPROVED: frozenset({Status.DRAFT}),
    EventType.GUARDIAN_ON_DUTY: _LIVE,
    EventType.GUARDIAN_HANDOVER: _ANY,
    EventType.GUARDIAN_LEFT: _ANY,
    EventType.ENTRANT_ENTERED: _ANY,  # the interlock decides (condition 1 names the status)
    EventType.ENTRANT_EXITED: _ANY,
    EventType.READINGS_CHUNK_RECORDED: _ANY,
    EventType.ALARM_RAISED: _ANY,
    EventType.ALARM_CLEARED: _ANY,
    EventType.EVACUATION_ORDERED: _ANY,
    EventType.SUSPENDED: frozenset({Status.APPROVED, Status.ACTIVE, Status.EVACUATING}),
    EventType.RESUMED: frozenset({Status.SUSPENDED}),
    EventType.CLOSING_STARTED: frozenset({Status.APPROVED, Status.ACTIVE, Status.SUSPENDED}),
    EventType.ISOLATION_REMOVED: _ANY - {Status.CLOSED},
    EventType.CLOSED: frozenset({Status.CLOSING}),
    EventType.CANCELLED: _LIVE,
    EventType.EXPIRED: _ANY,  # its own rule compares the folded status with the clock
    EventType.DEVICE_HANDOVER: _ANY,
}


def _signoff(
    state: PermitState, signoff: SignOff, meaning: SignOffMeaning, now: datetime
) -> list[Unmet]:
    facts = {"person": signoff.person_id}
    unmet: list[Unmet] = []
    if signoff.meaning is not meaning:
        unmet.append(
            Unmet(
                SIGNOFF_WRONG_MEANING,
                {**facts, "got": signoff.meaning.value, "expected": meaning.value},
            )
        )
    if not signoff.pin_verified:
        unmet.append(Unmet(SIGNOFF_PIN_NOT_VERIFIED, facts))
    if signoff.state_hash != state.head_hash:
        unmet.append(Unmet(SIGNOFF_STALE_STATE, facts))
    if signoff.signed_at > now:
        unmet.append(Unmet(SIGNOFF_IN_FUTURE, facts))
    return unmet


def _inside(state: PermitState) -> list[Unmet]:
    if state.inside:
        return [Unmet(ENTRANTS_INSIDE, {"people": ", ".join(sorted(state.inside))})]
    return []


# ------------------------------------------------------------ rule per type


def _drafted(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, Drafted)
    unmet: list[Unmet] = []
    try:
        profile = load_profile(p.space.profile)
    except ProfileError as exc:
        return [Unmet(PERMIT_PROFILE_UNKNOWN, {"profile": p.space.profile, "detail": str(exc)})]
    max_minutes = profile.permit_validity.total_seconds() / 60
    if p.validity_minutes is not None and p.validity_minutes > max_minutes:
        unmet.append(
            Unmet(VALIDITY_TOO_LONG, {"minutes": p.validity_minutes, "max_minutes": max_minutes})
        )
    return unmet


def _role_assigned(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, RoleAssigned)
    person = p.person
    facts = {"person": person.person_id}
    unmet: list[Unmet] = []
    if p.role in (Role.GUARDIAN, Role.ENTRANT) and not training_valid(person, now):
        unmet.append(Unmet(PERSON_TRAINING_INVALID, {**facts, "date": now.date().isoformat()}))
    if person.contractor_blacklisted:
        unmet.append(
            Unmet(
                PERSON_CONTRACTOR_BLACKLISTED, {**facts, "contractor": person.contractor_id or "-"}
            )
        )
    conflicts = {Role.GUARDIAN: Role.ENTRANT, Role.ENTRANT: Role.GUARDIAN}
    other = conflicts.get(p.role)
    if other is not None and person.person_id in state.with_role(other):
        unmet.append(Unmet(ROLE_CONFLICT, {**facts, "role": p.role.value, "other": other.value}))
    return unmet


def _isolation_applied(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, IsolationApplied)
    assert state.space is not None
    unmet: list[Unmet] = []
    templates = {t.point_id: t for t in state.space.isolation_points}
    template = templates.get(p.point_id)
    if template is None:
        unmet.append(
            Unmet(
                ISOLATION_POINT_UNKNOWN, {"point": p.point_id, "known": ", ".join(templates) or "-"}
            )
        )
    elif p.method not in METHODS_FOR_KIND[template.kind]:
        allowed = ", ".join(sorted(m.value for m in METHODS_FOR_KIND[template.kind]))
        unmet.append(
            Unmet(
                ISOLATION_METHOD_UNSUITABLE,
                {
                    "point": p.point_id,
                    "method": p.method.value,
                    "kind": template.kind.value,
                    "allowed": allowed,
                },
            )
        )
    if p.lock_id in state.isolations or p.lock_id in state.personal_locks:
        unmet.append(Unmet(LOCK_ALREADY_ON, {"lock": p.lock_id}))
    return unmet


def _isolation_verified(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, IsolationVerified)
    record = state.isolations.get(p.lock_id)
    if record is None or record.point_id != p.point_id:
        return [Unmet(LOCK_NOT_ON, {"lock": p.lock_id, "point": p.point_id})]
    if record.verified_by is not None:
        return [Unmet(ALREADY_VERIFIED, {"lock": p.lock_id, "person": record.verified_by})]
    if p.verified_by == record.applied_by:
        return [Unmet(VERIFIER_IS_APPLIER, {"lock": p.lock_id, "person": p.verified_by})]
    return []


def _personal_lock_applied(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, PersonalLockApplied)
    unmet: list[Unmet] = []
    if p.lockbox_id not in state.lockboxes:
        unmet.append(Unmet(LOCKBOX_UNKNOWN, {"lockbox": p.lockbox_id}))
    if p.lock_id in state.isolations or p.lock_id in state.personal_locks:
        unmet.append(Unmet(LOCK_ALREADY_ON, {"lock": p.lock_id}))
    return unmet


def _personal_lock_removed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, PersonalLockRemoved)
    lock = state.personal_locks.get(p.lock_id)
    if lock is None or lock.lockbox_id != p.lockbox_id:
        return [Unmet(LOCK_NOT_ON, {"lock": p.lock_id, "point": p.lockbox_id})]
    unmet = removal_unmet(lock.person_id, p.lock_id, p.removed_by, p.exception)
    if lock.person_id in state.inside:
        unmet.append(Unmet(LOCK_OWNER_INSIDE, {"person": lock.person_id, "lock": p.lock_id}))
    return unmet


def _isolation_removed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, IsolationRemoved)
    record = state.isolations.get(p.lock_id)
    if record is None or record.point_id != p.point_id:
        return [Unmet(LOCK_NOT_ON, {"lock": p.lock_id, "point": p.point_id})]
    unmet = removal_unmet(record.applied_by, p.lock_id, p.removed_by, p.exception)
    unmet.extend(_inside(state))
    if record.lockbox_id is not None:
        on_box = sorted(
            k for k, v in state.personal_locks.items() if v.lockbox_id == record.lockbox_id
        )
        if on_box:
            unmet.append(
                Unmet(
                    LOCKBOX_HAS_PERSONAL_LOCKS,
                    {"lockbox": record.lockbox_id, "locks": ", ".join(on_box)},
                )
            )
    return unmet


def _ventilation_stopped(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    if state.inside:
        return [Unmet(VENTILATION_STOP_WHILE_INSIDE, {"people": ", ".join(sorted(state.inside))})]
    return []


def _equipment_confirmed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, EquipmentConfirmed)
    assert state.space is not None
    unmet: list[Unmet] = []
    if p.confirmed_by != state.guardian:
        unmet.append(Unmet(CONFIRMER_NOT_GUARDIAN, {"person": p.confirmed_by}))
    required = {*state.space.required_ppe, *state.space.rescue_items}
    for item in p.items:
        if item not in required:
            unmet.append(Unmet(EQUIPMENT_ITEM_UNKNOWN, {"item": item}))
    return unmet


def _atmosphere_test(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, AtmosphereTestRecorded)
    unmet: list[Unmet] = []
    if p.source == "manual":
        if p.countersign is None:
            unmet.append(Unmet(MANUAL_TEST_NOT_COUNTERSIGNED))
        else:
            if p.countersign.person_id == p.tested_by:
                unmet.append(Unmet(COUNTERSIGN_SAME_PERSON, {"person": p.tested_by}))
            unmet.extend(_signoff(state, p.countersign, SignOffMeaning.COUNTERSIGN, now))
    try:
        parse_test(test_input(p, state.space, now))
    except InvalidInput as exc:
        unmet.append(Unmet(ATMOSPHERE_TEST_INVALID, {"field": exc.field, "expected": exc.expected}))
    detector = p.test.get("detector")
    serial = detector.get("serial") if isinstance(detector, dict) else None
    if serial != p.detector.serial:
        unmet.append(Unmet(DETECTOR_MISMATCH, {"got": serial, "expected": p.detector.serial}))
    return unmet


def _monitoring_started(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    if state.monitoring_detector is not None:
        return [Unmet(MONITORING_ALREADY_LIVE, {"detector": state.monitoring_detector})]
    return []


def _monitoring_stopped(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, MonitoringStopped)
    if state.monitoring_detector != p.detector_serial:
        return [Unmet(MONITORING_NOT_LIVE, {"detector": p.detector_serial})]
    if state.inside:
        return [Unmet(MONITORING_STOP_WHILE_INSIDE, {"people": ", ".join(sorted(state.inside))})]
    return []


def _readings_confirmed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, ReadingsConfirmed)
    person = p.signoff.person_id
    unmet: list[Unmet] = []
    if person not in state.entrants:
        unmet.append(Unmet(NOT_AN_ENTRANT, {"person": person}))
    passing = state.latest_passing_test
    if passing is None or passing.seq != p.test_seq or state.latest_test is not passing:
        unmet.append(Unmet(READINGS_NOT_LATEST_PASSING, {"test_seq": p.test_seq}))
    unmet.extend(_signoff(state, p.signoff, SignOffMeaning.CONFIRM_READINGS, now))
    return unmet


def _briefing_signed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, BriefingSigned)
    unmet: list[Unmet] = []
    if p.signoff.person_id not in state.entrants:
        unmet.append(Unmet(NOT_AN_ENTRANT, {"person": p.signoff.person_id}))
    unmet.extend(_signoff(state, p.signoff, SignOffMeaning.BRIEF, now))
    return unmet


def _approved(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, Approved)
    assert state.space is not None
    person_id = p.signoff.person_id
    facts = {"person": person_id}
    unmet: list[Unmet] = []
    person = state.people.get(person_id)
    if person is None or person_id not in state.with_role(Role.APPROVER):
        unmet.append(Unmet(APPROVER_NOT_ASSIGNED, facts))
    else:
        probe = PermitState(space=state.space, approver_authority=person.approval_authority)
        if not approval_authorised(probe):
            required = "principal/delegate" if state.space.key_supervision else "approver"
            unmet.append(
                Unmet(
                    APPROVER_LACKS_AUTHORITY,
                    {**facts, "space": state.space.space_id, "required": required},
                )
            )
        elif person.approval_authority is ApprovalAuthority.DELEGATE and not person.delegation_ref:
            unmet.append(Unmet(DELEGATION_MISSING, facts))
    if not state.permit_hazards:
        unmet.append(Unmet(NO_HAZARD_IDENTIFIED))
    unmet.extend(_signoff(state, p.signoff, SignOffMeaning.APPROVE, now))
    return unmet


def _guardian_fit(state: PermitState, person_id: str, now: datetime) -> list[Unmet]:
    facts = {"person": person_id}
    unmet: list[Unmet] = []
    if person_id not in state.with_role(Role.GUARDIAN):
        unmet.append(Unmet(GUARDIAN_NOT_ASSIGNED, facts))
    if person_id in state.entrants:
        unmet.append(Unmet(GUARDIAN_MUST_BE_ENTRANT_FREE, facts))
    if not training_valid(state.people.get(person_id), now):
        unmet.append(Unmet(PERSON_TRAINING_INVALID, {**facts, "date": now.date().isoformat()}))
    return unmet


def _guardian_on_duty(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, GuardianOnDuty)
    unmet: list[Unmet] = []
    if state.guardian is not None:
        unmet.append(Unmet(GUARDIAN_ALREADY_ON_DUTY, {"person": state.guardian}))
    unmet.extend(_guardian_fit(state, p.signoff.person_id, now))
    unmet.extend(_signoff(state, p.signoff, SignOffMeaning.GUARD, now))
    return unmet


def _guardian_handover(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, GuardianHandover)
    unmet: list[Unmet] = []
    if p.outgoing.person_id != state.guardian:
        unmet.append(Unmet(GUARDIAN_NOT_CURRENT, {"person": p.outgoing.person_id}))
    if p.outgoing.person_id == p.incoming.person_id:
        unmet.append(Unmet(HANDOVER_SAME_PERSON))
    unmet.extend(_guardian_fit(state, p.incoming.person_id, now))
    unmet.extend(_signoff(state, p.outgoing, SignOffMeaning.HANDOVER_OUT, now))
    unmet.extend(_signoff(state, p.incoming, SignOffMeaning.HANDOVER_IN, now))
    return unmet


def _guardian_left(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, GuardianLeft)
    if p.guardian_id != state.guardian:
        return [Unmet(GUARDIAN_NOT_CURRENT, {"person": p.guardian_id})]
    return []


def _entrant_entered(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, EntrantEntered)
    return entry_unmet(state, p.entrant_id, now, p.monitoring)


def _entrant_exited(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, EntrantExited)
    if p.entrant_id not in state.inside:
        return [Unmet(ENTRANT_NOT_INSIDE, {"person": p.entrant_id})]
    return []


def _alarm_raised(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, AlarmRaised)
    if p.alarm_id in state.alarms:
        return [Unmet(ALARM_ALREADY_ACTIVE, {"alarm": p.alarm_id})]
    return []


def _alarm_cleared(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, AlarmCleared)
    if p.alarm_id not in state.alarms:
        return [Unmet(ALARM_NOT_ACTIVE, {"alarm": p.alarm_id})]
    return []


def _suspended(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    return _inside(state)


def _resumed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, Resumed)
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
        unmet.append(Unmet(RESUME_NEEDS_NEW_TEST, {"test_seq": p.test_seq}))
    if state.alarms:
        unmet.append(Unmet(RESUME_ALARM_ACTIVE, {"alarms": ", ".join(sorted(state.alarms))}))
    return unmet


def _closed(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, Closed)
    unmet = _inside(state)
    if state.locks_on:
        unmet.append(Unmet(LOCKS_STILL_ON, {"locks": ", ".join(state.locks_on)}))
    responsible = state.with_role(Role.WORK_LEADER) | state.with_role(Role.APPROVER)
    if p.signoff.person_id not in responsible:
        unmet.append(Unmet(CLOSE_SIGNER_NOT_RESPONSIBLE, {"person": p.signoff.person_id}))
    unmet.extend(_signoff(state, p.signoff, SignOffMeaning.CLOSE, now))
    return unmet


def _expired(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    expires = state.expires_at
    if state.status in TERMINAL or state.status in (Status.NONE, Status.DRAFT):
        return [
            Unmet(
                NOT_ALLOWED_IN_STATUS,
                {"action": event.type.value, "status": state.status.value, "allowed": "approved"},
            )
        ]
    if expires is None or now < expires:
        return [Unmet(NOT_YET_EXPIRED, {"expires_at": expires.isoformat() if expires else "-"})]
    return []


def _device_handover(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    p = event.payload
    assert isinstance(p, DeviceHandover)
    if p.to_device_id == state.holder_device:
        return [Unmet(SAME_DEVICE, {"device": p.to_device_id})]
    return []


def _none(state: PermitState, event: Event, now: datetime) -> list[Unmet]:
    return []


RULES: dict[EventType, Rule] = {
    EventType.DRAFTED: _drafted,
    EventType.ROLE_ASSIGNED: _role_assigned,
    EventType.HAZARD_IDENTIFIED: _none,
    EventType.ISOLATION_APPLIED: _isolation_applied,
    EventType.ISOLATION_VERIFIED: _isolation_verified,
    EventType.PERSONAL_LOCK_APPLIED: _personal_lock_applied,
    EventType.PERSONAL_LOCK_REMOVED: _personal_lock_removed,
    EventType.VENTILATION_STARTED: _none,
    EventType.VENTILATION_STOPPED: _ventilation_stopped,
    EventType.EQUIPMENT_CONFIRMED: _equipment_confirmed,
    EventType.ATMOSPHERE_TEST_RECORDED: _atmosphere_test,
    EventType.MONITORING_STARTED: _monitoring_started,
    EventType.MONITORING_STOPPED: _monitoring_stopped,
    EventType.READINGS_CONFIRMED: _readings_confirmed,
    EventType.BRIEFING_SIGNED: _briefing_signed,
    EventType.APPROVED: _approved,
    EventType.GUARDIAN_ON_DUTY: _guardian_on_duty,
    EventType.GUARDIAN_HANDOVER: _guardian_handover,
    EventType.GUARDIAN_LEFT: _guardian_left,
    EventType.ENTRANT_ENTERED: _entrant_entered,
    EventType.ENTRANT_EXITED: _entrant_exited,
    EventType.READINGS_CHUNK_RECORDED: _none,
    EventType.ALARM_RAISED: _alarm_raised,
    EventType.ALARM_CLEARED: _alarm_cleared,
    EventType.EVACUATION_ORDERED: _none,
    EventType.SUSPENDED: _suspended,
    EventType.RESUMED: _resumed,
    EventType.CLOSING_STARTED: _none,
    EventType.ISOLATION_REMOVED: _isolation_removed,
    EventType.CLOSED: _closed,
    EventType.CANCELLED: _none,
    EventType.EXPIRED: _expired,
    EventType.DEVICE_HANDOVER: _device_handover,
}
assert set(RULES) == set(EventType) == set(ALLOWED)


def check(state: PermitState, event: Event, now: datetime | None = None) -> list[Unmet]:
    """Every rule ``event`` breaks against ``state`` (the state just before it)."""
    at = now or event.occurred_at
    if event.type is not EventType.DRAFTED and state.status is Status.NONE:
        return [Unmet(NO_PERMIT)]
    if event.type is EventType.DRAFTED and state.status is not Status.NONE:
        return [Unmet(PERMIT_ALREADY_DRAFTED, {"permit": state.permit_id})]
    unmet: list[Unmet] = []
    if state.permit_id is not None and event.permit_id != state.permit_id:
        unmet.append(
            Unmet(WRONG_PERMIT_EVENT, {"got": event.permit_id, "expected": state.permit_id})
        )
    if event.seq != state.seq + 1:
        unmet.append(Unmet(OUT_OF_SEQUENCE, {"got": event.seq, "expected": state.seq + 1}))
    status = state.status_at(at) if event.type is not EventType.EXPIRED else state.status
    allowed = ALLOWED[event.type]
    if status not in allowed:
        unmet.append(
            Unmet(
                NOT_ALLOWED_IN_STATUS,
                {
                    "action": event.type.value,
                    "status": status.value,
                    "allowed": ", ".join(sorted(s.value for s in allowed)),
                },
            )
        )
        return unmet
    try:
        unmet.extend(RULES[event.type](state, event, at))
    except ProfileError as exc:
        # The permit's profile cannot be loaded: nothing that depends on it may pass.
        profile = state.space.profile if state.space else "-"
        unmet.append(Unmet(PERMIT_PROFILE_UNKNOWN, {"profile": profile, "detail": str(exc)}))
    return unmet


def decide(
    state: PermitState,
    payload: Payload,
    now: datetime,
    *,
    actor: str,
    device_id: str,
    permit_id: str | None = None,
    event_id: UUID | None = None,
) -> Event:
    """The next event of the permit for ``payload`` at ``now``, or a RuleViolation."""
    pid = permit_id or state.permit_id
    if pid is None:
        raise RuleViolation([Unmet(NO_PERMIT)])
    event = new_event(
        payload,
        permit_id=pid,
        seq=state.seq + 1,
        actor=actor,
        device_id=device_id,
        occurred_at=now,
        event_id=event_id,
    )
    unmet = check(state, event, now)
    if unmet:
        raise RuleViolation(unmet)
    return event


# --------------------------------------------------- named commands (sugar)


def draft(permit_id: str, payload: Drafted, now: datetime, *, actor: str, device_id: str) -> Event:
    return decide(
        PermitState(), payload, now, actor=actor, device_id=device_id, permit_id=permit_id
    )


def enter(
    state: PermitState,
    entrant_id: str,
    now: datetime,
    *,
    actor: str,
    device_id: str,
    monitoring: MonitoringSnapshot | None = None,
) -> Event:
    payload = EntrantEntered(entrant_id=entrant_id, monitoring=monitoring)
    return decide(state, payload, now, actor=actor, device_id=device_id)


def exit_(
    state: PermitState, entrant_id: str, now: datetime, *, actor: str, device_id: str
) -> Event:
    return decide(
        state, EntrantExited(entrant_id=entrant_id), now, actor=actor, device_id=device_id
    )


def raise_alarm(
    state: PermitState, alarm: AlarmRaised, now: datetime, *, actor: str, device_id: str
) -> Event:
    return decide(state, alarm, now, actor=actor, device_id=device_id)


@dataclass
class PermitSession:
    """One device writing one permit: decide, seal, fold, keep the chain.

    The tablet and the tests use it; the server only replays.
    """

    device_key: DeviceKey
    state: PermitState = field(default_factory=PermitState)
    events: list[Event] = field(default_factory=list)

    def record(
        self,
        payload: Payload,
        now: datetime,
        *,
        actor: str,
        permit_id: str | None = None,
        event_id: UUID | None = None,
    ) -> Event:
        """Decide, seal and apply; a RuleViolation leaves the session unchanged."""
        event = decide(
            self.state,
            payload,
            now,
            actor=actor,
            device_id=self.device_key.device_id,
            permit_id=permit_id,
            event_id=event_id,
        )
        sealed = seal(event, self.state.head_hash, self.device_key)
        self.state = apply(self.state, sealed)
        self.events.append(sealed)
        if isinstance(payload, DeviceHandover):
            self.device_key = self._next_key or self.device_key
        return sealed

    _next_key: DeviceKey | None = field(default=None, init=False, repr=False)

    def hand_over(self, new_key: DeviceKey, now: datetime, *, actor: str) -> Event:
        """Move the permit to another device (signed by this one)."""
        self._next_key = new_key
        payload = DeviceHandover(to_device_id=new_key.device_id, to_public_key=new_key.public_b64())
        try:
            return self.record(payload, now, actor=actor)
        finally:
            self._next_key = None

    def signoff(
        self,
        person_id: str,
        meaning: SignOffMeaning,
        now: datetime,
        *,
        pin_verified: bool = True,
        signature_image_sha256: str | None = None,
    ) -> SignOff:
        """A sign-off over the current chain head (what the person sees on screen)."""
        return SignOff(
            person_id=person_id,
            meaning=meaning,
            signed_at=now,
            state_hash=self.state.head_hash,
            pin_verified=pin_verified,
            signature_image_sha256=signature_image_sha256,
        )
