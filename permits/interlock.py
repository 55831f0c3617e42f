"""The entry interlock (docs/rules.md): the seven conditions, checked at one instant.

:func:`entry_unmet` returns every unmet condition (empty means the entrant may
enter at ``now``); each condition also has its own function so that the hazard
finder (:mod:`permits.hazards`) can ask "was there a passing test?" alone.
Test age, re-test and staleness come from the permit's profile, never literals.
"""

from __future__ import annotations

from datetime import datetime

from permits.errors import Unmet
from permits.events import ApprovalAuthority, MonitoringSnapshot, PersonSnapshot
from permits.loto import isolation_unmet
from permits.messages import register
from permits.reference.people import contractor_blacklisted
from permits.state import PermitState, Status

__all__ = [
    "CONDITION_OF",
    "approval_authorised",
    "condition_1_permit",
    "condition_3_ventilation_equipment",
    "condition_4_atmosphere",
    "condition_5_guardian",
    "condition_6_entrant",
    "condition_7_alarms",
    "duties",
    "entry_unmet",
    "has_certificate",
    "monitoring_live",
    "required_authority",
    "training_valid",
]


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when rendered."""
    return message


PERMIT_NOT_APPROVED = "PERMIT_NOT_APPROVED"
APPROVER_NOT_AUTHORISED = "APPROVER_NOT_AUTHORISED"
PERMIT_EXPIRED = "PERMIT_EXPIRED"
PERMIT_NOT_OPEN = "PERMIT_NOT_OPEN"
VENTILATION_NOT_STARTED = "VENTILATION_NOT_STARTED"
EQUIPMENT_NOT_CONFIRMED = "EQUIPMENT_NOT_CONFIRMED"
ATMOSPHERE_NO_TEST = "ATMOSPHERE_NO_TEST"
ATMOSPHERE_TEST_FAILED = "ATMOSPHERE_TEST_FAILED"
ATMOSPHERE_TEST_TOO_OLD = "ATMOSPHERE_TEST_TOO_OLD"
ATMOSPHERE_RETEST_REQUIRED = "ATMOSPHERE_RETEST_REQUIRED"
MONITORING_REQUIRED = "MONITORING_REQUIRED"
GUARDIAN_NOT_ON_DUTY = "GUARDIAN_NOT_ON_DUTY"
GUARDIAN_IS_ENTRANT = "GUARDIAN_IS_ENTRANT"
GUARDIAN_TRAINING_INVALID = "GUARDIAN_TRAINING_INVALID"
ENTRANT_NOT_ON_ROSTER = "ENTRANT_NOT_ON_ROSTER"
ENTRANT_TRAINING_INVALID = "ENTRANT_TRAINING_INVALID"
ENTRANT_NOT_BRIEFED = "ENTRANT_NOT_BRIEFED"
ENTRANT_CERTIFICATE_MISSING = "ENTRANT_CERTIFICATE_MISSING"
ENTRANT_CONTRACTOR_BLACKLISTED = "ENTRANT_CONTRACTOR_BLACKLISTED"
ENTRANT_READINGS_NOT_CONFIRMED = "ENTRANT_READINGS_NOT_CONFIRMED"
ENTRANT_ALREADY_INSIDE = "ENTRANT_ALREADY_INSIDE"
ALARM_ACTIVE = "ALARM_ACTIVE"
MONITORING_STALE = "MONITORING_STALE"
MONITORING_NOT_ACCEPTABLE = "MONITORING_NOT_ACCEPTABLE"
MONITORING_OTHER_DETECTOR = "MONITORING_OTHER_DETECTOR"

# Which §5 condition each code belongs to (documentation, and the hazard finder).
CONDITION_OF: dict[str, int] = {
    PERMIT_NOT_APPROVED: 1,
    APPROVER_NOT_AUTHORISED: 1,
    PERMIT_EXPIRED: 1,
    PERMIT_NOT_OPEN: 1,
    VENTILATION_NOT_STARTED: 3,
    EQUIPMENT_NOT_CONFIRMED: 3,
    ATMOSPHERE_NO_TEST: 4,
    ATMOSPHERE_TEST_FAILED: 4,
    ATMOSPHERE_TEST_TOO_OLD: 4,
    ATMOSPHERE_RETEST_REQUIRED: 4,
    MONITORING_REQUIRED: 4,
    GUARDIAN_NOT_ON_DUTY: 5,
    GUARDIAN_IS_ENTRANT: 5,
    GUARDIAN_TRAINING_INVALID: 5,
    ENTRANT_NOT_ON_ROSTER: 6,
    ENTRANT_TRAINING_INVALID: 6,
    ENTRANT_NOT_BRIEFED: 6,
    ENTRANT_CERTIFICATE_MISSING: 6,
    ENTRANT_CONTRACTOR_BLACKLISTED: 6,
    ENTRANT_READINGS_NOT_CONFIRMED: 6,
    ENTRANT_ALREADY_INSIDE: 6,
    ALARM_ACTIVE: 7,
    MONITORING_STALE: 7,
    MONITORING_NOT_ACCEPTABLE: 7,
    MONITORING_OTHER_DETECTOR: 7,
}

_M = [
    (
        PERMIT_NOT_APPROVED,
        N_("the permit has not been approved"),
        N_("have the approver sign the permit first"),
    ),
    (
        APPROVER_NOT_AUTHORISED,
        N_(
            "the permit was approved by {person}, who lacks approval authority "
            "for this space ({required})"
        ),
        N_("have the principal (主要负责人) or a written delegate approve the permit"),
    ),
    (
        PERMIT_EXPIRED,
        N_("the permit expired at {expires_at}"),
        N_("close this permit and draft a new one"),
    ),
    (
        PERMIT_NOT_OPEN,
        N_("the permit is {status}; entry is not allowed"),
        N_("entry is only allowed while the permit is approved or active"),
    ),
    (
        VENTILATION_NOT_STARTED,
        N_("ventilation has not been started"),
        N_("start ventilation before anyone enters (先通风、再检测、后作业)"),
    ),
    (
        EQUIPMENT_NOT_CONFIRMED,
        N_("the guardian has not confirmed on site: {item}"),
        N_("the guardian checks {item} at the entrance and confirms it on the tablet"),
    ),
    (
        ATMOSPHERE_NO_TEST,
        N_("no atmosphere test has been recorded"),
        N_("test the atmosphere at every sample point before entry"),
    ),
    (
        ATMOSPHERE_TEST_FAILED,
        N_("the latest atmosphere test (event {test_seq}) is not acceptable: {reasons}"),
        N_("ventilate further and test again; nobody enters until a test passes"),
    ),
    (
        ATMOSPHERE_TEST_TOO_OLD,
        N_("the latest passing test is {age_min} min old; the limit is {max_min} min"),
        N_("test the atmosphere again, or start continuous monitoring"),
    ),
    (
        ATMOSPHERE_RETEST_REQUIRED,
        N_("work was interrupted after the latest passing test"),
        N_("ventilate and test again before anyone re-enters"),
    ),
    (
        MONITORING_REQUIRED,
        N_("profile {profile} requires continuous monitoring, which is not live"),
        N_("start continuous monitoring with a detector at the work position"),
    ),
    (
        GUARDIAN_NOT_ON_DUTY,
        N_("no guardian is on duty at the entrance"),
        N_("the assigned guardian signs on duty at the entrance"),
    ),
    (
        GUARDIAN_IS_ENTRANT,
        N_("the guardian {person} is also an entrant of this permit"),
        N_("the guardian may never enter: assign a different guardian"),
    ),
    (
        GUARDIAN_TRAINING_INVALID,
        N_("the guardian {person}'s training is not valid on {date}"),
        N_("assign a guardian with valid training"),
    ),
    (
        ENTRANT_NOT_ON_ROSTER,
        N_("{person} is not on this permit's roster"),
        N_("add {person} to the permit as an entrant first"),
    ),
    (
        ENTRANT_TRAINING_INVALID,
        N_("{person}'s training is not valid on {date}"),
        N_("{person} may not take part until their annual training is renewed"),
    ),
    (
        ENTRANT_NOT_BRIEFED,
        N_("{person} has not signed the safety briefing (安全交底)"),
        N_("brief {person} and have them sign"),
    ),
    (
        ENTRANT_CERTIFICATE_MISSING,
        N_("{person} holds no valid {certificate} certificate"),
        N_("only certified people may do this work (持证上岗)"),
    ),
    (
        ENTRANT_CONTRACTOR_BLACKLISTED,
        N_("{person}'s employer {contractor} is blacklisted"),
        N_("people from a blacklisted contractor may not work on site"),
    ),
    (
        ENTRANT_READINGS_NOT_CONFIRMED,
        N_("{person} has not confirmed the readings of the latest passing test (event {test_seq})"),
        N_("show {person} the readings and the verdict, and have them sign"),
    ),
    (
        ENTRANT_ALREADY_INSIDE,
        N_("{person} is already recorded inside"),
        N_("record the exit first"),
    ),
    (
        ALARM_ACTIVE,
        N_("an alarm is active: {alarms}"),
        N_("evacuate, find the cause, clear the alarm and test again"),
    ),
    (
        MONITORING_STALE,
        N_("the monitoring stream is stale (last reading {age_s} s ago, limit {max_s} s)"),
        N_("restore the detector link before anyone enters"),
    ),
    (
        MONITORING_OTHER_DETECTOR,
        N_("the entry's monitoring view is from detector {got}, but {expected} is monitoring"),
        N_("record the entry with the view of the detector that is monitoring"),
    ),
    (
        MONITORING_NOT_ACCEPTABLE,
        N_("the live monitor does not show acceptable air"),
        N_("nobody enters until the live readings are acceptable"),
    ),
]
for _code, _msg, _remedy in _M:
    register(_code, _msg, _remedy)


def training_valid(person: PersonSnapshot | None, now: datetime) -> bool:
    return (
        person is not None
        and person.training_valid_until is not None
        and person.training_valid_until >= now.date()
    )


def has_certificate(person: PersonSnapshot, kind: str, now: datetime) -> bool:
    return any(c.kind == kind and c.valid_until >= now.date() for c in person.certificates)


def required_authority(state: PermitState) -> str:
    """Who may approve the permit's space (the facts of an authority refusal)."""
    if state.space is not None and state.space.requires_principal_approval:
        return "principal/delegate"
    return "approver"


def approval_authorised(state: PermitState) -> bool:
    authority = state.approver_authority
    # Derived from the space's flag, hazards and channels (docs/rules.md, key supervision).
    if state.space is not None and state.space.requires_principal_approval:
        # MEM13 Art. 7: H2S/CO/CO2 spaces need the principal or a written delegate.
        return authority in (ApprovalAuthority.PRINCIPAL, ApprovalAuthority.DELEGATE)
    return authority in (
        ApprovalAuthority.APPROVER,
        ApprovalAuthority.PRINCIPAL,
        ApprovalAuthority.DELEGATE,
    )


def condition_1_permit(state: PermitState, now: datetime) -> list[Unmet]:
    if state.approved_at is None:
        return [Unmet(PERMIT_NOT_APPROVED)]
    unmet: list[Unmet] = []
    if not approval_authorised(state):
        unmet.append(
            Unmet(
                APPROVER_NOT_AUTHORISED,
                {"person": state.approved_by, "required": required_authority(state)},
            )
        )
    status = state.status_at(now)
    if status is Status.EXPIRED:
        expires = state.expires_at
        unmet.append(Unmet(PERMIT_EXPIRED, {"expires_at": expires.isoformat() if expires else "-"}))
    elif status not in (Status.APPROVED, Status.ACTIVE):
        unmet.append(Unmet(PERMIT_NOT_OPEN, {"status": status.value}))
    return unmet


def condition_3_ventilation_equipment(state: PermitState) -> list[Unmet]:
    unmet: list[Unmet] = []
    if not state.ventilation_on:
        unmet.append(Unmet(VENTILATION_NOT_STARTED))
    if state.space is not None:
        for item in (*state.space.required_ppe, *state.space.rescue_items):
            if item not in state.equipment_confirmed:
                unmet.append(Unmet(EQUIPMENT_NOT_CONFIRMED, {"item": item}))
    return unmet


def monitoring_live(state: PermitState, snapshot: MonitoringSnapshot | None, now: datetime) -> bool:
    if state.monitoring_detector is None or snapshot is None:
        return False
    if snapshot.detector_serial != state.monitoring_detector:
        return False  # another detector's view says nothing about the one monitoring
    age = now - snapshot.last_reading_at
    return (
        snapshot.acceptable
        and age <= state.profile.monitoring.stale_after
        and age.total_seconds() >= 0
    )


def condition_4_atmosphere(
    state: PermitState, monitoring: MonitoringSnapshot | None, now: datetime
) -> list[Unmet]:
    profile = state.profile
    latest = state.latest_test
    if latest is None:
        return [Unmet(ATMOSPHERE_NO_TEST)]
    if not latest.acceptable:
        codes = ", ".join(str(r.get("code")) for r in latest.reasons) or "-"
        return [Unmet(ATMOSPHERE_TEST_FAILED, {"test_seq": latest.seq, "reasons": codes})]
    unmet: list[Unmet] = []
    if state.suspended_seq is not None and latest.seq < state.suspended_seq:
        unmet.append(Unmet(ATMOSPHERE_RETEST_REQUIRED, {"test_seq": latest.seq}))
    live = monitoring_live(state, monitoring, now)
    if profile.continuous_monitoring_required and not live:
        unmet.append(Unmet(MONITORING_REQUIRED, {"profile": profile.name}))
    sampled_at = latest.oldest_sample_at or latest.recorded_at
    age = now - sampled_at
    # A passing test that preceded the first entry of this working period (an entry
    # already followed it), plus live acceptable monitoring, carries the job past the
    # test age (docs/rules.md, the entry interlock, item 4). After a resumption the new
    # test starts a new period.
    carried = live and state.last_entry_seq is not None and latest.seq < state.last_entry_seq
    if age > profile.test_max_age and not carried:
        unmet.append(
            Unmet(
                ATMOSPHERE_TEST_TOO_OLD,
                {
                    "test_seq": latest.seq,
                    "age_min": round(age.total_seconds() / 60, 1),
                    "max_min": round(profile.test_max_age.total_seconds() / 60, 1),
                },
            )
        )
    return unmet


def condition_5_guardian(state: PermitState, now: datetime) -> list[Unmet]:
    guardian = state.guardian
    if guardian is None:
        return [Unmet(GUARDIAN_NOT_ON_DUTY)]
    unmet: list[Unmet] = []
    if guardian in state.entrants:
        unmet.append(Unmet(GUARDIAN_IS_ENTRANT, {"person": guardian}))
    if not training_valid(state.people.get(guardian), now):
        unmet.append(
            Unmet(GUARDIAN_TRAINING_INVALID, {"person": guardian, "date": now.date().isoformat()})
        )
    return unmet


def condition_6_entrant(state: PermitState, entrant_id: str, now: datetime) -> list[Unmet]:
    facts = {"person": entrant_id}
    if entrant_id not in state.entrants:
        return [Unmet(ENTRANT_NOT_ON_ROSTER, facts)]
    person = state.people[entrant_id]
    unmet: list[Unmet] = []
    if entrant_id in state.inside:
        unmet.append(Unmet(ENTRANT_ALREADY_INSIDE, facts))
    if not training_valid(person, now):
        unmet.append(Unmet(ENTRANT_TRAINING_INVALID, {**facts, "date": now.date().isoformat()}))
    if entrant_id not in state.briefed:
        unmet.append(Unmet(ENTRANT_NOT_BRIEFED, facts))
    for kind in state.required_certificates:
        if not has_certificate(person, kind, now):
            unmet.append(Unmet(ENTRANT_CERTIFICATE_MISSING, {**facts, "certificate": kind}))
    contractor = person.contractor
    if person.contractor_blacklisted or (
        contractor is not None and contractor_blacklisted(contractor, now.date())
    ):
        unmet.append(
            Unmet(
                ENTRANT_CONTRACTOR_BLACKLISTED, {**facts, "contractor": person.contractor_id or "-"}
            )
        )
    passing = state.latest_passing_test
    if passing is not None and state.readings_confirmed.get(entrant_id) != passing.seq:
        unmet.append(Unmet(ENTRANT_READINGS_NOT_CONFIRMED, {**facts, "test_seq": passing.seq}))
    return unmet


def condition_7_alarms(
    state: PermitState, monitoring: MonitoringSnapshot | None, now: datetime
) -> list[Unmet]:
    unmet: list[Unmet] = []
    if state.alarms:
        unmet.append(Unmet(ALARM_ACTIVE, {"alarms": ", ".join(sorted(state.alarms))}))
    if state.monitoring_detector is not None:
        stale_after = state.profile.monitoring.stale_after
        if monitoring is None or now - monitoring.last_reading_at > stale_after:
            age = (
                "-"
                if monitoring is None
                else round((now - monitoring.last_reading_at).total_seconds())
            )
            unmet.append(
                Unmet(MONITORING_STALE, {"age_s": age, "max_s": stale_after.total_seconds()})
            )
        elif monitoring.detector_serial != state.monitoring_detector:
            unmet.append(
                Unmet(
                    MONITORING_OTHER_DETECTOR,
                    {"got": monitoring.detector_serial, "expected": state.monitoring_detector},
                )
            )
        elif not monitoring.acceptable:
            unmet.append(Unmet(MONITORING_NOT_ACCEPTABLE))
    return unmet


def entry_unmet(
    state: PermitState,
    entrant_id: str,
    now: datetime,
    monitoring: MonitoringSnapshot | None = None,
) -> list[Unmet]:
    """Every §5 condition not met for ``entrant_id`` entering at ``now``."""
    return [
        *condition_1_permit(state, now),
        *isolation_unmet(state, entrant_id),
        *condition_3_ventilation_equipment(state),
        *condition_4_atmosphere(state, monitoring, now),
        *condition_5_guardian(state, now),
        *condition_6_entrant(state, entrant_id, now),
        *condition_7_alarms(state, monitoring, now),
    ]


RETEST_DUE = "RETEST_DUE"
register(
    RETEST_DUE,
    N_(
        "people are inside and the latest passing test is {age_min} min old; without continuous "
        "monitoring a re-test is due every {max_min} min"
    ),
    N_("test the atmosphere again now, or start continuous monitoring"),
)


def duties(state: PermitState, now: datetime) -> list[Unmet]:
    """What the guardian owes while people are inside (shown, not a refusal).

    A profile that requires continuous monitoring needs it running; otherwise
    the atmosphere is re-tested at the profile's ``retest_interval``.
    """
    if not state.inside:
        return []
    profile = state.profile
    if state.monitoring_detector is not None:
        return []
    if profile.retest_interval is None:
        return [Unmet(MONITORING_REQUIRED, {"profile": profile.name})]
    passing = state.latest_passing_test
    sampled_at = None if passing is None else (passing.oldest_sample_at or passing.recorded_at)
    if sampled_at is None or now - sampled_at > profile.retest_interval:
        age = "-" if sampled_at is None else round((now - sampled_at).total_seconds() / 60, 1)
        return [
            Unmet(
                RETEST_DUE,
                {
                    "test_seq": passing.seq if passing else "-",
                    "age_min": age,
                    "max_min": round(profile.retest_interval.total_seconds() / 60, 1),
                },
            )
        ]
    return []
