"""Commands other than entry: each refusal names every unmet condition."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cspermit.demo.molasses_tank import (
    DETECTOR,
    ELECTRICIAN,
    ENTRANT_A,
    ENTRANT_B,
    GUARDIAN,
    LEADER,
    PRINCIPAL,
    START,
    atmosphere_test,
    monitoring,
    person,
    ready_to_enter,
    record_test,
    space,
)
from permits.commands import PermitSession, decide
from permits.errors import RuleViolation
from permits.events import (
    AlarmCleared,
    AlarmKind,
    AlarmRaised,
    ApprovalAuthority,
    Approved,
    AtmosphereTestRecorded,
    Cancelled,
    Closed,
    ClosingStarted,
    Drafted,
    EntrantEntered,
    EntrantExited,
    Expired,
    GuardianHandover,
    GuardianLeft,
    GuardianOnDuty,
    IsolationApplied,
    IsolationMethod,
    IsolationRemoved,
    MonitoringStopped,
    Payload,
    PersonalLockRemoved,
    RemovalException,
    Resumed,
    Role,
    RoleAssigned,
    SignOffMeaning,
    Suspended,
    VentilationStopped,
)
from permits.integrity import DeviceKey
from permits.state import PermitState, Status

from .conftest import ENTRY_AT


def _refused(
    s: PermitSession, payload: Payload, at: object = None, actor: str = GUARDIAN
) -> list[str]:
    when = at if at is not None else max(s.events[-1].occurred_at, ENTRY_AT)
    with pytest.raises(RuleViolation) as info:
        s.record(payload, when, actor=actor)  # type: ignore[arg-type]
    return info.value.codes


def _inside(s: PermitSession, *who: str) -> None:
    for w in who:
        s.record(
            EntrantEntered(entrant_id=w, monitoring=monitoring(ENTRY_AT)), ENTRY_AT, actor=GUARDIAN
        )


def test_first_command_must_be_a_draft(key: DeviceKey) -> None:
    with pytest.raises(RuleViolation) as info:
        decide(PermitState(), Cancelled(reason="x"), START, actor=LEADER, device_id=key.device_id)
    assert info.value.codes == ["NO_PERMIT"]


def test_validity_longer_than_the_profile_is_refused(key: DeviceKey) -> None:
    s = PermitSession(key)
    payload = Drafted(
        enterprise_id="E", space=space(), work_description="w", validity_minutes=25 * 60
    )
    codes = _refused_draft(s, payload)
    assert codes == ["VALIDITY_TOO_LONG"]


def _refused_draft(s: PermitSession, payload: Drafted) -> list[str]:
    with pytest.raises(RuleViolation) as info:
        s.record(payload, START, actor=LEADER, permit_id="P-X")
    return info.value.codes


def test_a_draft_twice_is_refused(ready: PermitSession) -> None:
    payload = Drafted(enterprise_id="E", space=space(), work_description="w")
    assert _refused(ready, payload) == ["PERMIT_ALREADY_DRAFTED"]


def test_role_assignment_refuses_untrained_blacklisted_and_conflicting_people(
    ready: PermitSession,
) -> None:
    bad = person(
        GUARDIAN,
        "李明",
        training_valid_until=date(2026, 1, 1),
        contractor_id="CON-BAD",
        contractor_blacklisted=True,
    )
    codes = _refused(ready, RoleAssigned(role=Role.ENTRANT, person=bad))
    assert set(codes) == {
        "PERSON_TRAINING_INVALID",
        "PERSON_CONTRACTOR_BLACKLISTED",
        "ROLE_CONFLICT",
    }


def test_key_supervision_space_needs_the_principal_or_a_delegate(key: DeviceKey) -> None:
    s = ready_to_enter(
        key,
        skip=["approval", "hazard"],
        person_changes={PRINCIPAL: {"approval_authority": ApprovalAuthority.APPROVER}},
    )
    at = ENTRY_AT
    stale = s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, at, pin_verified=False)
    codes = _refused(s, Approved(signoff=stale), at, PRINCIPAL)
    assert set(codes) == {
        "APPROVER_LACKS_AUTHORITY",
        "NO_HAZARD_IDENTIFIED",
        "SIGNOFF_PIN_NOT_VERIFIED",
    }


def test_a_delegate_needs_a_written_delegation(key: DeviceKey) -> None:
    s = ready_to_enter(
        key, skip=["approval"], person_changes={PRINCIPAL: {"approval_authority": "delegate"}}
    )
    signoff = s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, ENTRY_AT)
    assert _refused(s, Approved(signoff=signoff), ENTRY_AT, PRINCIPAL) == ["DELEGATION_MISSING"]


def test_an_ordinary_approver_may_approve_an_ordinary_space(key: DeviceKey) -> None:
    # Ordinary: neither flagged nor showing a poisoning gas in its channels (issue 14:
    # the molasses tank's H2S and CO channels alone make it a principal's space).
    s = ready_to_enter(
        key,
        skip=["approval"],
        space_snapshot=space(key_supervision=False, required_channels=("O2", "LEL")),
        person_changes={PRINCIPAL: {"approval_authority": ApprovalAuthority.APPROVER}},
    )
    s.record(
        Approved(signoff=s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, ENTRY_AT)),
        ENTRY_AT,
        actor=PRINCIPAL,
    )
    assert s.state.status is Status.APPROVED


def test_an_unflagged_space_with_a_poisoning_gas_still_needs_the_principal(
    key: DeviceKey,
) -> None:
    # MEM13 Art. 7, derived: the H2S channel (or an H2S hazard) is enough without the flag.
    for snapshot in (
        space(key_supervision=False),
        space(key_supervision=False, required_channels=("O2", "LEL"), hazards=("H2S",)),
    ):
        s = ready_to_enter(
            key,
            skip=["approval"],
            space_snapshot=snapshot,
            person_changes={PRINCIPAL: {"approval_authority": ApprovalAuthority.APPROVER}},
        )
        signoff = s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, ENTRY_AT)
        assert _refused(s, Approved(signoff=signoff), ENTRY_AT, PRINCIPAL) == [
            "APPROVER_LACKS_AUTHORITY"
        ]


def test_someone_not_assigned_cannot_approve(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["approval"])
    signoff = s.signoff(GUARDIAN, SignOffMeaning.APPROVE, ENTRY_AT)
    assert _refused(s, Approved(signoff=signoff), ENTRY_AT, GUARDIAN) == ["APPROVER_NOT_ASSIGNED"]


def test_a_signature_over_an_older_state_or_with_another_meaning_is_refused(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["approval"])
    old = s.signoff(PRINCIPAL, SignOffMeaning.GUARD, ENTRY_AT)
    s.record(VentilationStopped(), ENTRY_AT, actor=GUARDIAN)
    codes = _refused(s, Approved(signoff=old), ENTRY_AT, PRINCIPAL)
    assert set(codes) == {"SIGNOFF_STALE_STATE", "SIGNOFF_WRONG_MEANING"}


def test_approval_only_from_draft(ready: PermitSession) -> None:
    signoff = ready.signoff(PRINCIPAL, SignOffMeaning.APPROVE, ENTRY_AT)
    assert _refused(ready, Approved(signoff=signoff), ENTRY_AT, PRINCIPAL) == [
        "NOT_ALLOWED_IN_STATUS"
    ]


def test_guardian_on_duty_rules(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["guardian"])
    codes = _refused(
        s, GuardianOnDuty(signoff=s.signoff(ENTRANT_A, SignOffMeaning.GUARD, ENTRY_AT))
    )
    assert set(codes) == {"GUARDIAN_NOT_ASSIGNED", "GUARDIAN_MUST_BE_ENTRANT_FREE"}
    s.record(
        GuardianOnDuty(signoff=s.signoff(GUARDIAN, SignOffMeaning.GUARD, ENTRY_AT)),
        ENTRY_AT,
        actor=GUARDIAN,
    )
    again = GuardianOnDuty(signoff=s.signoff(GUARDIAN, SignOffMeaning.GUARD, ENTRY_AT))
    assert _refused(s, again) == ["GUARDIAN_ALREADY_ON_DUTY"]


def test_guardian_handover_is_signed_by_both(ready: PermitSession) -> None:
    relief = person("P-HE", "何军")
    ready.record(RoleAssigned(role=Role.GUARDIAN, person=relief), ENTRY_AT, actor=LEADER)
    bad = GuardianHandover(
        outgoing=ready.signoff(GUARDIAN, SignOffMeaning.HANDOVER_OUT, ENTRY_AT),
        incoming=ready.signoff("P-HE", SignOffMeaning.HANDOVER_IN, ENTRY_AT, pin_verified=False),
    )
    assert _refused(ready, bad) == ["SIGNOFF_PIN_NOT_VERIFIED"]
    wrong = GuardianHandover(
        outgoing=ready.signoff(ENTRANT_A, SignOffMeaning.HANDOVER_OUT, ENTRY_AT),
        incoming=ready.signoff(ENTRANT_A, SignOffMeaning.HANDOVER_IN, ENTRY_AT),
    )
    assert set(_refused(ready, wrong)) == {
        "GUARDIAN_NOT_CURRENT",
        "HANDOVER_SAME_PERSON",
        "GUARDIAN_NOT_ASSIGNED",
        "GUARDIAN_MUST_BE_ENTRANT_FREE",
    }
    good = GuardianHandover(
        outgoing=ready.signoff(GUARDIAN, SignOffMeaning.HANDOVER_OUT, ENTRY_AT),
        incoming=ready.signoff("P-HE", SignOffMeaning.HANDOVER_IN, ENTRY_AT),
    )
    ready.record(good, ENTRY_AT, actor=GUARDIAN)
    assert ready.state.guardian == "P-HE"


def test_guardian_leaving_with_people_inside_forces_evacuation(ready: PermitSession) -> None:
    _inside(ready, ENTRANT_A)
    assert _refused(ready, GuardianLeft(guardian_id=ENTRANT_A)) == ["GUARDIAN_NOT_CURRENT"]
    ready.record(GuardianLeft(guardian_id=GUARDIAN, reason="called away"), ENTRY_AT, actor=GUARDIAN)
    assert ready.state.status is Status.EVACUATING
    ready.record(EntrantExited(entrant_id=ENTRANT_A), ENTRY_AT, actor=ENTRANT_A)
    assert ready.state.status is Status.SUSPENDED


def test_manual_atmosphere_entry_needs_a_second_persons_countersign(ready: PermitSession) -> None:
    at = ENTRY_AT
    test = atmosphere_test(at - timedelta(minutes=2))
    unsigned = AtmosphereTestRecorded(
        test=test, detector=DETECTOR, source="manual", tested_by=GUARDIAN
    )
    assert _refused(ready, unsigned) == ["MANUAL_TEST_NOT_COUNTERSIGNED"]
    self_signed = unsigned.model_copy(
        update={"countersign": ready.signoff(GUARDIAN, SignOffMeaning.COUNTERSIGN, at)}
    )
    assert _refused(ready, self_signed) == ["COUNTERSIGN_SAME_PERSON"]
    ok = unsigned.model_copy(
        update={"countersign": ready.signoff(LEADER, SignOffMeaning.COUNTERSIGN, at)}
    )
    ready.record(ok, at, actor=GUARDIAN)
    assert ready.state.latest_test is not None and ready.state.latest_test.manual


def test_a_test_from_another_detector_is_refused(ready: PermitSession) -> None:
    test = atmosphere_test(ENTRY_AT)
    test["detector"]["serial"] = "OTHER-1"
    payload = AtmosphereTestRecorded(
        test=test, detector=DETECTOR, source="driver", tested_by=GUARDIAN
    )
    assert _refused(ready, payload) == ["DETECTOR_MISMATCH"]


def test_recorded_verdict_is_recomputed_not_trusted(ready: PermitSession) -> None:
    test = atmosphere_test(ENTRY_AT - timedelta(minutes=2), h2s_bottom=30.0)
    lie = AtmosphereTestRecorded(
        test=test,
        detector=DETECTOR,
        source="driver",
        tested_by=GUARDIAN,
        verdict={"acceptable": True},
    )
    ready.record(lie, ENTRY_AT, actor=GUARDIAN)
    latest = ready.state.latest_test
    assert latest is not None and not latest.acceptable
    assert {r["code"] for r in latest.reasons} == {"TOXIC_HIGH"}


def test_the_tests_own_space_cannot_drop_a_sample_point(ready: PermitSession) -> None:
    # The device claims a space with only the top point; the permit's snapshot wins.
    test = atmosphere_test(ENTRY_AT - timedelta(minutes=2), points=("top",))
    test["space"]["sample_points"] = ["top"]
    payload = AtmosphereTestRecorded(
        test=test, detector=DETECTOR, source="driver", tested_by=GUARDIAN
    )
    ready.record(payload, ENTRY_AT, actor=GUARDIAN)
    latest = ready.state.latest_test
    assert latest is not None and not latest.acceptable
    assert {r["code"] for r in latest.reasons} == {"SAMPLE_POINT_MISSING"}


def test_exit_is_accepted_in_every_state(ready: PermitSession) -> None:
    _inside(ready, ENTRANT_A, ENTRANT_B)
    later = ENTRY_AT + timedelta(minutes=1)
    ready.record(Cancelled(reason="storm warning"), later, actor=LEADER)
    assert ready.state.status is Status.CANCELLED
    ready.record(EntrantExited(entrant_id=ENTRANT_A), later, actor=GUARDIAN)
    # Long after expiry, the remaining entrant can still be logged out.
    much_later = START + timedelta(days=3)
    ready.record(EntrantExited(entrant_id=ENTRANT_B), much_later, actor=GUARDIAN)
    assert ready.state.inside == frozenset()
    assert _refused(ready, EntrantExited(entrant_id=ENTRANT_B)) == ["ENTRANT_NOT_INSIDE"]


def test_no_close_while_anyone_is_inside_or_any_lock_is_on(ready: PermitSession) -> None:
    _inside(ready, ENTRANT_A)
    ready.record(ClosingStarted(), ENTRY_AT, actor=LEADER)
    close = Closed(signoff=ready.signoff(LEADER, SignOffMeaning.CLOSE, ENTRY_AT))
    codes = _refused(ready, close, ENTRY_AT, LEADER)
    assert set(codes) == {"ENTRANTS_INSIDE", "LOCKS_STILL_ON"}
    locks = next(u for u in _unmet(ready, close) if u.code == "LOCKS_STILL_ON").facts["locks"]
    assert locks == "L-101, L-102, PL-1, PL-2"


def _unmet(s: PermitSession, payload: Payload) -> list:  # type: ignore[type-arg]
    with pytest.raises(RuleViolation) as info:
        s.record(payload, ENTRY_AT, actor=LEADER)
    return list(info.value.unmet)


def test_close_signed_by_a_responsible_person(ready: PermitSession) -> None:
    ready.record(ClosingStarted(), ENTRY_AT, actor=LEADER)
    for i, who in enumerate((ENTRANT_A, ENTRANT_B)):
        ready.record(
            PersonalLockRemoved(lockbox_id="LB-1", lock_id=f"PL-{i + 1}", removed_by=who),
            ENTRY_AT,
            actor=who,
        )
    for lock, point in (("L-101", "IP-AGITATOR"), ("L-102", "IP-INLET")):
        ready.record(
            IsolationRemoved(point_id=point, lock_id=lock, removed_by=ELECTRICIAN),
            ENTRY_AT,
            actor=ELECTRICIAN,
        )
    by_guardian = Closed(signoff=ready.signoff(GUARDIAN, SignOffMeaning.CLOSE, ENTRY_AT))
    assert _refused(ready, by_guardian) == ["CLOSE_SIGNER_NOT_RESPONSIBLE"]
    ready.record(
        Closed(signoff=ready.signoff(LEADER, SignOffMeaning.CLOSE, ENTRY_AT)),
        ENTRY_AT,
        actor=LEADER,
    )
    assert ready.state.status is Status.CLOSED


def test_lock_removed_only_by_its_owner_or_the_recorded_exception(ready: PermitSession) -> None:
    ready.record(ClosingStarted(), ENTRY_AT, actor=LEADER)
    for i, who in enumerate((ENTRANT_A, ENTRANT_B)):
        ready.record(
            PersonalLockRemoved(lockbox_id="LB-1", lock_id=f"PL-{i + 1}", removed_by=who),
            ENTRY_AT,
            actor=who,
        )
    by_other = IsolationRemoved(point_id="IP-INLET", lock_id="L-102", removed_by=LEADER)
    assert _refused(ready, by_other) == ["LOCK_REMOVER_NOT_OWNER"]
    half = by_other.model_copy(
        update={
            "exception": RemovalException(
                verified_absent=True,
                contact_attempted=False,
                to_be_informed=True,
                authorised_by=PRINCIPAL,
            )
        }
    )
    assert _refused(ready, half) == ["REMOVAL_EXCEPTION_INCOMPLETE"]
    full = by_other.model_copy(
        update={
            "exception": RemovalException(
                verified_absent=True,
                contact_attempted=True,
                contact_note="phoned 孙涛 twice, no answer; left a message",
                to_be_informed=True,
                authorised_by=PRINCIPAL,
            )
        }
    )
    ready.record(full, ENTRY_AT, actor=LEADER)
    assert "L-102" not in ready.state.isolations


def test_group_lockbox_keeps_its_isolation_while_personal_locks_are_on(
    ready: PermitSession,
) -> None:
    payload = IsolationRemoved(point_id="IP-AGITATOR", lock_id="L-101", removed_by=ELECTRICIAN)
    assert _refused(ready, payload) == ["LOCKBOX_HAS_PERSONAL_LOCKS"]
    other = PersonalLockRemoved(lockbox_id="LB-1", lock_id="PL-1", removed_by=ENTRANT_B)
    assert _refused(ready, other) == ["LOCK_REMOVER_NOT_OWNER"]


def test_no_lock_comes_off_while_people_are_inside(ready: PermitSession) -> None:
    _inside(ready, ENTRANT_A)
    own = PersonalLockRemoved(lockbox_id="LB-1", lock_id="PL-1", removed_by=ENTRANT_A)
    assert _refused(ready, own) == ["LOCK_OWNER_INSIDE"]


def test_isolation_applying_rules(ready: PermitSession) -> None:
    wrong = IsolationApplied(
        point_id="IP-AGITATOR",
        method=IsolationMethod.WATER_SEAL,
        lock_id="L-101",
        tag_id="T",
        applied_by=ELECTRICIAN,
    )
    assert set(_refused(ready, wrong)) == {"ISOLATION_METHOD_UNSUITABLE", "LOCK_ALREADY_ON"}
    unknown = wrong.model_copy(update={"point_id": "IP-NOWHERE", "lock_id": "L-999"})
    assert _refused(ready, unknown) == ["ISOLATION_POINT_UNKNOWN"]


def test_ventilation_and_monitoring_keep_running_while_people_are_inside(
    ready: PermitSession,
) -> None:
    _inside(ready, ENTRANT_A)
    assert _refused(ready, VentilationStopped()) == ["VENTILATION_STOP_WHILE_INSIDE"]
    stop = MonitoringStopped(detector_serial=DETECTOR.serial)
    assert _refused(ready, stop) == ["MONITORING_STOP_WHILE_INSIDE"]


def test_suspension_needs_everyone_out_and_resumption_a_new_passing_test(
    ready: PermitSession,
) -> None:
    _inside(ready, ENTRANT_A)
    assert _refused(ready, Suspended(reason="lunch")) == ["ENTRANTS_INSIDE"]
    ready.record(EntrantExited(entrant_id=ENTRANT_A), ENTRY_AT, actor=GUARDIAN)
    ready.record(Suspended(reason="lunch"), ENTRY_AT, actor=GUARDIAN)
    old_test = ready.state.latest_test
    assert old_test is not None
    # cn-gongmao: any interruption needs a re-test.
    assert _refused(ready, Resumed(test_seq=old_test.seq)) == ["RESUME_NEEDS_NEW_TEST"]
    later = ENTRY_AT + timedelta(minutes=30)
    seq = record_test(ready, later)
    ready.record(Resumed(test_seq=seq), later, actor=GUARDIAN)
    assert ready.state.status is Status.ACTIVE


def test_resumption_refused_while_an_alarm_is_active(ready: PermitSession) -> None:
    ready.record(AlarmRaised(alarm_id="A-1", kind=AlarmKind.STALE_STREAM), ENTRY_AT, actor=GUARDIAN)
    ready.record(Suspended(reason="monitoring lost"), ENTRY_AT, actor=GUARDIAN)
    seq = record_test(ready, ENTRY_AT + timedelta(minutes=5))
    assert _refused(ready, Resumed(test_seq=seq)) == ["RESUME_ALARM_ACTIVE"]
    ready.record(AlarmCleared(alarm_id="A-1"), ENTRY_AT + timedelta(minutes=6), actor=GUARDIAN)
    assert _refused(ready, AlarmCleared(alarm_id="A-1")) == ["ALARM_NOT_ACTIVE"]
    ready.record(Resumed(test_seq=seq), ENTRY_AT + timedelta(minutes=6), actor=GUARDIAN)
    assert ready.state.status is Status.APPROVED  # nobody had entered yet


def test_expired_event_only_after_the_validity(ready: PermitSession) -> None:
    assert _refused(ready, Expired(), ENTRY_AT) == ["NOT_YET_EXPIRED"]
    later = START + timedelta(hours=25)
    assert ready.state.status_at(later) is Status.EXPIRED
    ready.record(Expired(), later, actor=GUARDIAN)
    assert ready.state.status is Status.EXPIRED
    # Nothing but exits, alarms and lock removal is recorded on an expired permit.
    assert _refused(ready, ClosingStarted(), later, LEADER) == ["NOT_ALLOWED_IN_STATUS"]


def test_an_unreadable_atmosphere_test_is_refused_naming_the_field(ready: PermitSession) -> None:
    test = atmosphere_test(ENTRY_AT - timedelta(minutes=2))
    test["samples"][0]["readings"][0]["unit"] = "percent"
    payload = AtmosphereTestRecorded(
        test=test, detector=DETECTOR, source="driver", tested_by=GUARDIAN
    )
    with pytest.raises(RuleViolation) as info:
        ready.record(payload, ENTRY_AT, actor=GUARDIAN)
    assert info.value.codes == ["ATMOSPHERE_TEST_INVALID"]
    assert info.value.unmet[0].facts["field"] == "samples[0].readings[0].unit"
