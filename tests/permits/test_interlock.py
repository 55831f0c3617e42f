"""The entry interlock (docs/rules.md): each condition refused on its own, named,
and all of them named at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cspermit.demo.molasses_tank import (
    CST,
    ELECTRICIAN,
    ENTRANT_A,
    ENTRANT_B,
    GUARDIAN,
    LEADER,
    START,
    AlarmKind,
    AlarmRaised,
    IsolationApplied,
    IsolationMethod,
    IsolationVerified,
    monitoring,
    ready_to_enter,
    record_test,
)
from permits.commands import PermitSession, enter
from permits.errors import RuleViolation
from permits.events import MonitoringSnapshot
from permits.integrity import DeviceKey
from permits.interlock import CONDITION_OF, entry_unmet
from permits.state import Status

from .conftest import ENTRY_AT


def _enter(s: PermitSession, who: str = ENTRANT_A, at: datetime = ENTRY_AT, **kw: object) -> None:
    snap = kw.get("monitoring", monitoring(at))
    assert snap is None or isinstance(snap, MonitoringSnapshot)
    event = enter(
        s.state, who, at, actor=GUARDIAN, device_id=s.device_key.device_id, monitoring=snap
    )
    s.record(event.payload, at, actor=GUARDIAN)


def _codes(
    s: PermitSession, who: str = ENTRANT_A, at: datetime = ENTRY_AT, **kw: object
) -> list[str]:
    with pytest.raises(RuleViolation) as info:
        _enter(s, who, at, **kw)
    return info.value.codes


def test_everything_in_place_lets_both_entrants_in(ready: PermitSession) -> None:
    _enter(ready, ENTRANT_A)
    _enter(ready, ENTRANT_B)
    assert ready.state.inside == {ENTRANT_A, ENTRANT_B}
    assert ready.state.status is Status.ACTIVE


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        ("approval", {"PERMIT_NOT_APPROVED"}),
        ("isolation", {"ISOLATION_NOT_APPLIED"}),
        ("verify", {"ISOLATION_NOT_VERIFIED", "ISOLATION_INADEQUATE"}),
        ("personal_locks", {"PERSONAL_LOCK_MISSING"}),
        ("ventilation", {"VENTILATION_NOT_STARTED"}),
        ("equipment", {"EQUIPMENT_NOT_CONFIRMED"}),
        ("test", {"ATMOSPHERE_NO_TEST"}),
        ("guardian", {"GUARDIAN_NOT_ON_DUTY", "EQUIPMENT_NOT_CONFIRMED"}),
        ("briefing", {"ENTRANT_NOT_BRIEFED"}),
        ("readings", {"ENTRANT_READINGS_NOT_CONFIRMED"}),
    ],
)
def test_one_missing_step_is_named(key: DeviceKey, skip: str, expected: set[str]) -> None:
    s = ready_to_enter(key, skip=[skip])
    assert set(_codes(s)) == expected


def test_equipment_is_named_item_by_item(key: DeviceKey) -> None:
    with pytest.raises(RuleViolation) as info:
        _enter(ready_to_enter(key, skip=["equipment"]))
    items = {u.facts["item"] for u in info.value.unmet if u.code == "EQUIPMENT_NOT_CONFIRMED"}
    assert items == {"SCBA", "harness", "tripod_winch"}


def test_every_condition_named_at_once(key: DeviceKey) -> None:
    everything = [
        "hazard", "isolation", "ventilation", "guardian", "test", "briefing", "approval",
    ]  # fmt: skip
    s = ready_to_enter(key, skip=everything)
    s.record(AlarmRaised(alarm_id="A-9", kind=AlarmKind.MANUAL), ENTRY_AT, actor=GUARDIAN)
    codes = _codes(s, monitoring=None)
    assert {
        "PERMIT_NOT_APPROVED",
        "ISOLATION_NOT_APPLIED",
        "VENTILATION_NOT_STARTED",
        "EQUIPMENT_NOT_CONFIRMED",
        "ATMOSPHERE_NO_TEST",
        "GUARDIAN_NOT_ON_DUTY",
        "ENTRANT_NOT_BRIEFED",
        "ALARM_ACTIVE",
        "MONITORING_STALE",
    } <= set(codes)
    conditions = {CONDITION_OF.get(c, 2 if c.startswith("ISOLATION") else 0) for c in codes}
    assert conditions == {1, 2, 3, 4, 5, 6, 7}


def test_a_closed_valve_alone_on_a_hazardous_pipe_is_not_isolation(key: DeviceKey) -> None:
    s = ready_to_enter(key, skip=["isolation"])
    at = ENTRY_AT - timedelta(minutes=5)
    for lock, point, method in (
        ("L-1", "IP-AGITATOR", IsolationMethod.ELECTRICAL_LOCKOUT),
        ("L-2", "IP-INLET", IsolationMethod.CLOSED_VALVE),
    ):
        s.record(
            IsolationApplied(
                point_id=point, method=method, lock_id=lock, tag_id="T", applied_by=ELECTRICIAN
            ),
            at,
            actor=ELECTRICIAN,
        )
        s.record(
            IsolationVerified(point_id=point, lock_id=lock, verified_by=LEADER), at, actor=LEADER
        )
    with pytest.raises(RuleViolation) as info:
        _enter(s)
    assert info.value.codes == ["ISOLATION_INADEQUATE"]
    assert info.value.unmet[0].facts == {"point": "IP-INLET", "methods": "closed_valve"}
    # A blind flange added next to the valve makes the point acceptable.
    s.record(
        IsolationApplied(
            point_id="IP-INLET", method=IsolationMethod.BLIND_FLANGE, lock_id="L-3", tag_id="T3",
            applied_by=ELECTRICIAN,
        ),
        at,
        actor=ELECTRICIAN,
    )  # fmt: skip
    s.record(
        IsolationVerified(point_id="IP-INLET", lock_id="L-3", verified_by=LEADER), at, actor=LEADER
    )
    _enter(s)


def test_a_test_older_than_the_profile_allows_blocks_the_first_entry(ready: PermitSession) -> None:
    # Samples at +38 min; cn-gongmao allows 30 min; live monitoring does not excuse a first entry.
    late = START + timedelta(minutes=38 + 31)
    codes = _codes(ready, at=late)
    assert codes == ["ATMOSPHERE_TEST_TOO_OLD"]


def test_live_monitoring_carries_later_entries_past_the_test_age(ready: PermitSession) -> None:
    _enter(ready, ENTRANT_A)
    late = START + timedelta(minutes=38 + 45)
    _enter(ready, ENTRANT_B, at=late)
    assert ready.state.inside == {ENTRANT_A, ENTRANT_B}


def test_stale_monitoring_blocks_entry(ready: PermitSession) -> None:
    stale = MonitoringSnapshot(
        detector_serial="GT4-0001",
        last_reading_at=ENTRY_AT - timedelta(seconds=60),
        acceptable=True,
    )
    assert _codes(ready, monitoring=stale) == ["MONITORING_STALE"]
    assert _codes(ready, monitoring=None) == ["MONITORING_STALE"]


def test_unacceptable_live_reading_blocks_entry(ready: PermitSession) -> None:
    bad = MonitoringSnapshot(detector_serial="GT4-0001", last_reading_at=ENTRY_AT, acceptable=False)
    assert _codes(ready, monitoring=bad) == ["MONITORING_NOT_ACCEPTABLE"]


def test_a_failing_latest_test_blocks_entry(ready: PermitSession) -> None:
    record_test(ready, ENTRY_AT - timedelta(minutes=1), h2s_bottom=8.0)
    codes = _codes(ready)
    assert "ATMOSPHERE_TEST_FAILED" in codes


def test_active_alarm_blocks_entry_and_evacuates(ready: PermitSession) -> None:
    ready.record(
        AlarmRaised(alarm_id="A-1", kind=AlarmKind.GAS, channel="H2S"), ENTRY_AT, actor=GUARDIAN
    )
    codes = _codes(ready)
    assert {"ALARM_ACTIVE", "PERMIT_NOT_OPEN"} <= set(codes)


def test_expired_permit_blocks_entry(ready: PermitSession) -> None:
    later = START + timedelta(minutes=45, hours=24)
    assert "PERMIT_EXPIRED" in _codes(ready, at=later)


def test_not_on_roster_and_already_inside(ready: PermitSession) -> None:
    # A stranger also has no personal lock on the group lockbox.
    assert set(_codes(ready, "P-STRANGER")) == {"ENTRANT_NOT_ON_ROSTER", "PERSONAL_LOCK_MISSING"}
    _enter(ready, ENTRANT_A)
    assert _codes(ready, ENTRANT_A) == ["ENTRANT_ALREADY_INSIDE"]


def test_missing_certificate_for_the_work(key: DeviceKey) -> None:
    s = ready_to_enter(key, person_changes={ENTRANT_B: {"certificates": ()}})
    _enter(s, ENTRANT_A)
    with pytest.raises(RuleViolation) as info:
        _enter(s, ENTRANT_B)
    assert info.value.codes == ["ENTRANT_CERTIFICATE_MISSING"]
    assert info.value.unmet[0].facts["certificate"] == "hot_work"


def test_training_that_lapses_before_entry(key: DeviceKey) -> None:
    # The job starts late on the 28th; training valid to the 28th lapses at midnight.
    start = datetime(2026, 11, 28, 23, 20, tzinfo=CST)
    lapse = {"training_valid_until": date(2026, 11, 28)}
    s = ready_to_enter(key, start, person_changes={GUARDIAN: lapse, ENTRANT_A: lapse})
    codes = _codes(s, at=start + timedelta(minutes=50))
    assert set(codes) == {"GUARDIAN_TRAINING_INVALID", "ENTRANT_TRAINING_INVALID"}


def test_entry_unmet_is_empty_exactly_when_entry_is_accepted(ready: PermitSession) -> None:
    assert entry_unmet(ready.state, ENTRANT_A, ENTRY_AT, monitoring(ENTRY_AT)) == []
    assert entry_unmet(ready.state, ENTRANT_A, ENTRY_AT, None) != []


def test_unmet_conditions_carry_a_message_and_a_remedy(key: DeviceKey, english: None) -> None:
    s = ready_to_enter(key, skip=["ventilation", "briefing"])
    with pytest.raises(RuleViolation) as info:
        _enter(s)
    for unmet in info.value.unmet:
        assert unmet.message() and unmet.remedy()
        assert unmet.code not in unmet.message()
    assert "ventilation" in str(info.value)


def test_duties_while_inside_come_from_the_profile(key: DeviceKey) -> None:
    from permits.interlock import duties

    s = ready_to_enter(key, skip=["monitoring"])
    _enter(s, monitoring=None)
    assert duties(s.state, ENTRY_AT + timedelta(minutes=100)) == []
    (due,) = duties(s.state, START + timedelta(minutes=38 + 121))
    assert due.code == "RETEST_DUE" and due.facts["max_min"] == 120.0


def test_a_profile_requiring_continuous_monitoring_refuses_entry_without_it(key: DeviceKey) -> None:
    from cspermit.demo.molasses_tank import space

    s = ready_to_enter(key, skip=["monitoring"], space_snapshot=space(profile="us-osha-1910.146"))
    assert _codes(s, monitoring=None) == ["MONITORING_REQUIRED"]


def test_after_resumption_the_new_test_must_be_young_for_the_first_reentry(
    ready: PermitSession,
) -> None:
    from permits.events import EntrantExited, Resumed, Suspended

    _enter(ready, ENTRANT_A)
    at = ENTRY_AT + timedelta(minutes=10)
    ready.record(EntrantExited(entrant_id=ENTRANT_A), at, actor=GUARDIAN)
    ready.record(Suspended(reason="lunch"), at, actor=GUARDIAN)
    retest = ENTRY_AT + timedelta(minutes=60)
    seq = record_test(ready, retest)
    from cspermit.demo.molasses_tank import confirm_readings

    confirm_readings(ready, retest, (ENTRANT_A, ENTRANT_B))
    ready.record(Resumed(test_seq=seq), retest, actor=GUARDIAN)
    late = retest + timedelta(minutes=40)
    # Live monitoring does not excuse a stale test for the first entry after resuming …
    assert _codes(ready, ENTRANT_A, late) == ["ATMOSPHERE_TEST_TOO_OLD"]
    _enter(ready, ENTRANT_A, retest + timedelta(minutes=5))
    # … but once someone entered on the new test, monitoring carries later entries.
    _enter(ready, ENTRANT_B, late)
