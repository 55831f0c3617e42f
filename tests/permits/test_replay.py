"""Replay: rules re-checked on a received chain, violations collected, not trusted.

A tampered or buggy device can seal events that its own commands would have
refused; these tests write such chains directly (bypassing the commands)."""

from __future__ import annotations

import json
from datetime import timedelta

from cspermit.demo.molasses_tank import (
    DETECTOR,
    ENTRANT_A,
    GUARDIAN,
    LEADER,
    atmosphere_test,
    demo_session,
    monitoring,
    ready_to_enter,
)
from permits.commands import PermitSession
from permits.events import (
    AtmosphereTestRecorded,
    ClosingStarted,
    EntrantEntered,
    EntrantExited,
    Payload,
    SignOff,
    SignOffMeaning,
    new_event,
)
from permits.hazards import find_hazards
from permits.integrity import DeviceKey, seal
from permits.replay import replay
from permits.state import Status, apply

from .conftest import ENTRY_AT


def force(s: PermitSession, payload: Payload, actor: str = GUARDIAN, at=ENTRY_AT) -> None:  # type: ignore[no-untyped-def]
    """Seal an event with no rule check, as a faulty device would."""
    assert s.state.permit_id is not None
    event = new_event(
        payload,
        permit_id=s.state.permit_id,
        seq=s.state.seq + 1,
        actor=actor,
        device_id=s.device_key.device_id,
        occurred_at=at,
    )
    sealed = seal(event, s.state.head_hash, s.device_key)
    s.state = apply(s.state, sealed)
    s.events.append(sealed)


def _enter(s: PermitSession) -> None:
    force(s, EntrantEntered(entrant_id=ENTRANT_A, monitoring=monitoring(ENTRY_AT)))


def test_the_demo_replays_clean(key: DeviceKey) -> None:
    events = demo_session(key).events
    result = replay(events, events[-1].occurred_at)
    assert result.clean and result.flags == ()
    assert result.status is Status.CLOSED


def test_entry_without_approval_is_a_violation_and_a_mem10_finding(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["approval"])
    _enter(s)
    result = replay(s.events, ENTRY_AT)
    (violation,) = result.violations
    assert violation.seq == len(s.events) and violation.event_type == "entrant_entered"
    assert [u.code for u in violation.unmet] == ["PERMIT_NOT_APPROVED"]
    (finding,) = result.findings
    assert finding.code == "ENTRY_WITHOUT_APPROVAL"
    assert finding.clause == "MEM10 Art. 13 (二)"
    assert finding.person == ENTRANT_A and finding.seq == violation.seq


def test_entry_without_a_passing_test(key: DeviceKey) -> None:
    s = ready_to_enter(key)
    failing = atmosphere_test(ENTRY_AT - timedelta(minutes=2), o2=18.0)
    force(
        s,
        AtmosphereTestRecorded(
            test=failing, detector=DETECTOR, source="driver", tested_by=GUARDIAN
        ),
    )
    _enter(s)
    codes = [f.code for f in find_hazards(s.events)]
    assert codes == ["ENTRY_WITHOUT_PASSING_TEST"]


def test_a_device_that_claims_a_passing_verdict_is_not_believed(key: DeviceKey) -> None:
    s = ready_to_enter(key)
    lie = AtmosphereTestRecorded(
        test=atmosphere_test(ENTRY_AT - timedelta(minutes=2), h2s_bottom=25.0),
        detector=DETECTOR,
        source="driver",
        tested_by=GUARDIAN,
        verdict={"acceptable": True, "reasons": []},
    )
    force(s, lie)
    _enter(s)
    assert [f.code for f in find_hazards(s.events)] == ["ENTRY_WITHOUT_PASSING_TEST"]


def test_entry_without_a_guardian_or_ventilation(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["guardian", "ventilation"])
    _enter(s)
    codes = {f.code for f in find_hazards(s.events)}
    assert codes == {"ENTRY_WITHOUT_GUARDIAN", "ENTRY_WITHOUT_VENTILATION"}


def test_replay_keeps_going_after_a_violation(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["approval"])
    _enter(s)
    force(s, EntrantExited(entrant_id=ENTRANT_A))
    force(s, ClosingStarted(), actor=LEADER)  # not allowed from draft either
    result = replay(s.events, ENTRY_AT)
    assert [v.event_type for v in result.violations] == ["entrant_entered", "closing_started"]
    assert result.state.seq == len(s.events)
    assert result.state.inside == frozenset()


def test_manual_tests_are_flagged_for_the_bureau(ready: PermitSession) -> None:
    at = ENTRY_AT
    countersign = SignOff(
        person_id=LEADER,
        meaning=SignOffMeaning.COUNTERSIGN,
        signed_at=at,
        state_hash=ready.state.head_hash,
        pin_verified=True,
    )
    ready.record(
        AtmosphereTestRecorded(
            test=atmosphere_test(at - timedelta(minutes=2)),
            detector=DETECTOR,
            source="manual",
            tested_by=GUARDIAN,
            countersign=countersign,
        ),
        at,
        actor=GUARDIAN,
    )
    result = replay(ready.events, at)
    assert result.violations == ()
    (flag,) = result.flags
    assert flag.code == "MANUAL_ATMOSPHERE_ENTRY"
    assert flag.facts == {"tested_by": GUARDIAN, "countersigned_by": LEADER}


def test_replay_result_is_json_with_messages(key: DeviceKey, english: None) -> None:
    s = ready_to_enter(key, skip=["approval"])
    _enter(s)
    out = replay(s.events, ENTRY_AT).as_dict()
    text = json.dumps(out, ensure_ascii=False)
    assert out["violations"][0]["unmet"][0]["code"] == "PERMIT_NOT_APPROVED"
    assert "approved" in out["violations"][0]["unmet"][0]["message"]
    assert out["findings"][0]["code"] == "ENTRY_WITHOUT_APPROVAL"
    assert "ENTRY_WITHOUT_APPROVAL" in text


def test_a_chain_with_an_unknown_profile_replays_and_fails_closed() -> None:
    from cspermit.demo.molasses_tank import START, space
    from permits.events import Drafted

    key = DeviceKey.generate("TAB-SUGAR-01")
    s = PermitSession(key)
    draft = new_event(
        Drafted(enterprise_id="E", space=space(profile="no-such-profile"), work_description="w"),
        permit_id="P-BAD",
        seq=1,
        actor=LEADER,
        device_id=key.device_id,
        occurred_at=START,
    )
    sealed = seal(draft, s.state.head_hash, key)
    s.state, s.events = apply(s.state, sealed), [sealed]
    _enter(s)
    result = replay(s.events, ENTRY_AT)
    assert [u.code for u in result.violations[0].unmet] == ["PERMIT_PROFILE_UNKNOWN"]
    assert "ENTRY_WITHOUT_PASSING_TEST" in {f.code for f in result.findings}
    assert result.status is Status.DRAFT


def test_a_device_verdict_that_disagrees_is_flagged(key: DeviceKey) -> None:
    s = ready_to_enter(key)
    lie = AtmosphereTestRecorded(
        test=atmosphere_test(ENTRY_AT - timedelta(minutes=2), h2s_bottom=25.0),
        detector=DETECTOR,
        source="driver",
        tested_by=GUARDIAN,
        verdict={"acceptable": True, "reasons": []},
    )
    force(s, lie)
    flags = replay(s.events, ENTRY_AT).flags
    assert [(f.code, f.facts) for f in flags] == [
        ("RECORDED_VERDICT_DIFFERS", {"recorded": True, "recomputed": False})
    ]


def test_a_missed_retest_while_people_are_inside_is_flagged_once(key: DeviceKey) -> None:
    from permits.events import ReadingsChunkRecorded

    s = ready_to_enter(key, skip=["monitoring"])
    s.record(EntrantEntered(entrant_id=ENTRANT_A), ENTRY_AT, actor=GUARDIAN)
    for minutes in (60, 150, 170):  # cn-gongmao: re-test every 120 min without monitoring
        at = ENTRY_AT + timedelta(minutes=minutes)
        s.record(
            ReadingsChunkRecorded(sha256="ab" * 32, detector_serial="GT4-0001", start=at, end=at),
            at,
            actor=GUARDIAN,
        )
    flags = replay(s.events, ENTRY_AT + timedelta(hours=4)).flags
    assert [(f.code, f.seq) for f in flags] == [("RETEST_DUE_OVERDUE", len(s.events) - 1)]
    assert flags[0].facts["max_min"] == 120.0
