"""The hot-work permit (动火安全作业票): levels, people, gas analysis, the link to a
confined-space permit, alarms, the fire watch, replay findings (docs/rules.md, Hot work)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cspermit.cli import app
from permits.commands import permit_type_of
from permits.errors import RuleViolation
from permits.events import (
    PAYLOAD_TYPES,
    Certificate,
    DetectorIdentity,
    EventType,
    PersonSnapshot,
    SignOffMeaning,
    new_event,
    register_payloads,
)
from permits.hot_work import (
    HOT_WORK,
    HotWorkSession,
    HotWorkStatus,
    alarm_concerns,
    effective_level,
    judge_analysis,
    raise_reasons,
)
from permits.hot_work.data import years_without_calendar
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
    HotWorkResumed,
    HotWorkRole,
    HotWorkRoleAssigned,
    HotWorkSuspended,
    HotWorkWatchConfirmed,
    LinkedPermitSnapshot,
)
from permits.integrity import DeviceKey, export_chain, seal
from permits.replay import replay_permit

CST = timezone(timedelta(hours=8))
# Wednesday 2 December 2026, a working day: 08:00-12:00 raises nothing.
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=CST)
DETECTOR = DetectorIdentity(serial="DET-7", calibration_due=date(2027, 6, 1))


def person(pid: str, *, certified: bool = False) -> PersonSnapshot:
    certs = (Certificate(kind="hot_work", number="T-1", valid_until=date(2028, 1, 1)),)
    return PersonSnapshot(
        person_id=pid, name=pid, employer_id="ENT-1", certificates=certs if certified else ()
    )


def drafted(**changes: object) -> HotWorkDrafted:
    data: dict[str, object] = {
        "enterprise_id": "ENT-1",
        "base_level": HotWorkLevel.FIRST,
        "planned_start": T0,
        "planned_end": T0 + timedelta(hours=4),
        "fire_points": (FirePoint(point_id="FP-1", location="tank 3 manway", x=0, y=0, z=1),),
        "method": "electric welding",
        "work_description": "weld a nozzle on tank 3",
    }
    data.update(changes)
    return HotWorkDrafted.model_validate(data)


def analysis(at: datetime, lel: float = 2.0, **changes: object) -> HotWorkGasAnalysed:
    data: dict[str, object] = {
        "fire_point_id": "FP-1",
        "sampled_at": at,
        "distance_m": 2,
        "readings": (HotWorkGasReading(channel="LEL", value=lel, unit="%LEL", gas="CH4"),),
        "detector": DETECTOR,
        "analysed_by": "P-GAS",
    }
    data.update(changes)
    return HotWorkGasAnalysed.model_validate(data)


def rostered_session(key: DeviceKey, *, start: datetime = T0, **draft: object) -> HotWorkSession:
    """Drafted 50 min before ``start`` (the planned start unless ``draft`` says otherwise),
    with a work leader, a certified welder and a fire watcher."""
    s = HotWorkSession(key)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=4)}
    payload = drafted(**{**window, **draft})
    s.record(payload, start - timedelta(minutes=50), actor="P-LEAD", permit_id="HW-1")
    for role, who in (
        (HotWorkRole.WORK_LEADER, person("P-LEAD")),
        (HotWorkRole.OPERATOR, person("P-WELD", certified=True)),
        (HotWorkRole.FIRE_WATCHER, person("P-WATCH")),
    ):
        at = start - timedelta(minutes=45)
        s.record(HotWorkRoleAssigned(role=role, person=who), at, actor="P-LEAD")
    return s


def approval(
    s: HotWorkSession,
    at: datetime,
    who: str = "P-SAFE",
    authority: HotWorkAuthority = HotWorkAuthority.SAFETY_DEPARTMENT,
) -> HotWorkApproved:
    return HotWorkApproved(
        approver=person(who),
        authority=authority,
        signoff=s.signoff(who, SignOffMeaning.APPROVE, at),
    )


def approved_session(key: DeviceKey, **draft: object) -> HotWorkSession:
    s = rostered_session(key, **draft)
    at = T0 - timedelta(minutes=40)
    s.record(approval(s, at), at, actor="P-SAFE")
    return s


def start_fire(s: HotWorkSession, at: datetime, **payload: object) -> None:
    fire = HotWorkFireStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, at), **payload)  # type: ignore[arg-type]
    s.record(fire, at, actor="P-WELD")


def active_session(key: DeviceKey) -> HotWorkSession:
    s = approved_session(key)
    s.record(analysis(T0 - timedelta(minutes=10)), T0 - timedelta(minutes=9), actor="P-GAS")
    assert s.state.status is HotWorkStatus.GAS_OK
    start_fire(s, T0)
    return s


def refused(s: HotWorkSession, payload: object, at: datetime, actor: str = "P-LEAD") -> list[str]:
    with pytest.raises(RuleViolation) as caught:
        s.record(payload, at, actor=actor)  # type: ignore[arg-type]
    return [str(c) for c in caught.value.codes]


@pytest.fixture
def key() -> DeviceKey:
    return DeviceKey.generate("TAB-HW")


def test_hot_work_is_a_registered_permit_type_that_owns_its_events() -> None:
    assert permit_type_of(EventType.HOT_WORK_DRAFTED) is HOT_WORK
    assert all(t.value.startswith("hot_work_") for t in HOT_WORK.table)
    # Its payloads come from its own module, registered once each.
    assert PAYLOAD_TYPES[EventType.HOT_WORK_DONE] is HotWorkDone
    with pytest.raises(ValueError, match="already has a payload class"):
        register_payloads(HotWorkDone)


def test_a_full_job_runs_through_every_state_and_replays_clean(key: DeviceKey) -> None:
    s = active_session(key)
    assert s.state.status is HotWorkStatus.ACTIVE
    s.record(HotWorkInterrupted(reason="lunch"), T0 + timedelta(minutes=60), actor="P-WELD")
    # 20 min is within the 30 min 一级 allows: the morning's analysis still counts.
    start_fire(s, T0 + timedelta(minutes=80))
    done_at = T0 + timedelta(hours=2)
    s.record(HotWorkDone(), done_at, actor="P-WELD")
    watch = done_at + timedelta(minutes=1)
    s.record(
        HotWorkFireWatchStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, watch)),
        watch,
        actor="P-WATCH",
    )
    assert s.state.status is HotWorkStatus.FIRE_WATCH
    assert s.state.fire_watch_ends_at == watch + timedelta(minutes=30)
    mid = watch + timedelta(minutes=15)
    s.record(
        HotWorkWatchConfirmed(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, mid)),
        mid,
        actor="P-WATCH",
    )
    early = watch + timedelta(minutes=29)
    early_end = HotWorkFireWatchEnded(
        watcher=s.signoff("P-WATCH", SignOffMeaning.CLOSE, early), no_residual_fire=True
    )
    assert refused(s, early_end, early, "P-WATCH") == ["HOT_WORK_FIRE_WATCH_TOO_SHORT"]
    end = watch + timedelta(minutes=30)
    s.record(
        HotWorkFireWatchEnded(
            watcher=s.signoff("P-WATCH", SignOffMeaning.CLOSE, end), no_residual_fire=True
        ),
        end,
        actor="P-WATCH",
    )
    s.record(
        HotWorkClosed(signoff=s.signoff("P-LEAD", SignOffMeaning.CLOSE, end)), end, actor="P-LEAD"
    )
    assert s.state.status is HotWorkStatus.CLOSED
    result = replay_permit(s.events, end)
    assert result.clean, result.as_dict()
    assert result.state == s.state


def test_the_level_goes_up_one_step_at_night_on_rest_days_and_holidays() -> None:
    night = (T0.replace(hour=19), T0.replace(hour=21))
    assert raise_reasons(*night) == ("night",)
    assert effective_level(HotWorkLevel.SECOND, *night) is HotWorkLevel.FIRST
    assert effective_level(HotWorkLevel.FIRST, *night) is HotWorkLevel.SPECIAL
    assert effective_level(HotWorkLevel.SPECIAL, *night) is HotWorkLevel.SPECIAL
    saturday = datetime(2026, 12, 5, 8, tzinfo=CST)
    assert raise_reasons(saturday, saturday + timedelta(hours=2)) == ("rest_day",)
    national_day = datetime(2026, 10, 2, 8, tzinfo=CST)
    assert raise_reasons(national_day, national_day + timedelta(hours=2)) == ("holiday",)
    makeup_workday = datetime(2026, 10, 10, 8, tzinfo=CST)  # a Saturday worked (调休)
    assert raise_reasons(makeup_workday, makeup_workday + timedelta(hours=2)) == ()
    # Half-open: a window ending at 20:00 does not reach the night.
    assert raise_reasons(T0.replace(hour=18), T0.replace(hour=20)) == ()


def test_a_year_without_a_holiday_calendar_counts_as_holidays_and_the_draft_records_it(
    key: DeviceKey,
) -> None:
    # 2099 has no calendar installed (permits/data/hot_work/holidays): a Wednesday morning.
    start = datetime(2099, 1, 7, 9, tzinfo=CST)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=2)}
    assert years_without_calendar(start, start + timedelta(hours=2)) == (2099,)
    assert raise_reasons(start, start + timedelta(hours=2)) == ("no_calendar",)
    # Not refused: written at the stricter level, and the draft must say which years.
    unrecorded = drafted(base_level=HotWorkLevel.SECOND, **window)
    with pytest.raises(RuleViolation) as caught:
        HotWorkSession(key).record(unrecorded, start, actor="P-LEAD", permit_id="HW-1")
    assert [str(c) for c in caught.value.codes] == ["HOT_WORK_CALENDAR_MISSING"]
    s = HotWorkSession(key)
    s.record(
        drafted(base_level=HotWorkLevel.SECOND, years_without_calendar=(2099,), **window),
        start,
        actor="P-LEAD",
        permit_id="HW-1",
    )
    assert s.state.level is HotWorkLevel.FIRST and s.state.raised_because == ("no_calendar",)
    assert replay_permit(s.events, start).clean
    # A year the draft recorded as without data stays raised once its calendar is installed
    # (2026 is installed; this Wednesday would not raise the level by itself).
    weekday = {"planned_start": T0, "planned_end": T0 + timedelta(hours=2)}
    assert raise_reasons(T0, T0 + timedelta(hours=2)) == ()
    s = HotWorkSession(key)
    s.record(
        drafted(base_level=HotWorkLevel.SECOND, years_without_calendar=(2026,), **weekday),
        T0,
        actor="P-LEAD",
        permit_id="HW-2",
    )
    assert s.state.level is HotWorkLevel.FIRST
    # Only the window's own years can be recorded; a window ending at 00:00 on 1 January
    # (half-open) has no day of the new year.
    with pytest.raises(ValueError, match="years_without_calendar"):
        drafted(years_without_calendar=(2025,))
    eve = datetime(2026, 12, 31, 20, tzinfo=CST)
    midnight = datetime(2027, 1, 1, tzinfo=CST)
    assert years_without_calendar(eve, midnight) == ()
    with pytest.raises(ValueError, match="years_without_calendar"):
        drafted(planned_start=eve, planned_end=midnight, years_without_calendar=(2027,))


def test_validity_follows_the_raised_level(key: DeviceKey) -> None:
    def draft_codes(payload: HotWorkDrafted) -> list[str]:
        with pytest.raises(RuleViolation) as caught:
            HotWorkSession(key).record(payload, T0, actor="P-LEAD", permit_id="HW-1")
        return [str(c) for c in caught.value.codes]

    # 一级 raised to 特级 by the night: at most 8 h, and 9 h are asked.
    night = drafted(planned_start=T0.replace(hour=12), planned_end=T0.replace(hour=21))
    assert draft_codes(night) == ["HOT_WORK_WINDOW_TOO_LONG"]
    # 二级 allows 72 h, but 40 h cross two nights: 一级, 8 h.
    assert draft_codes(
        drafted(base_level=HotWorkLevel.SECOND, planned_end=T0 + timedelta(hours=40))
    ) == ["HOT_WORK_WINDOW_TOO_LONG"]
    s = approved_session(key, base_level=HotWorkLevel.SECOND, planned_end=T0 + timedelta(hours=10))
    assert s.state.level is HotWorkLevel.SECOND
    assert s.state.validity == timedelta(hours=72)
    assert s.state.expires_at == T0 + timedelta(hours=10)  # the window ends first
    assert s.state.status_at(T0 + timedelta(hours=10)) is HotWorkStatus.EXPIRED


def test_a_special_level_job_needs_the_production_safety_lead(key: DeviceKey) -> None:
    s = rostered_session(key, base_level=HotWorkLevel.SPECIAL)
    at = T0 - timedelta(minutes=40)
    assert refused(s, approval(s, at), at, "P-SAFE") == ["HOT_WORK_APPROVER_NOT_AUTHORISED"]
    s.record(approval(s, at, "P-BOSS", HotWorkAuthority.PRODUCTION_SAFETY_LEAD), at, actor="P-BOSS")
    assert s.state.status is HotWorkStatus.APPROVED


def test_operators_need_the_certificate_and_the_watcher_is_not_an_operator(key: DeviceKey) -> None:
    s = HotWorkSession(key)
    s.record(drafted(), T0 - timedelta(hours=1), actor="P-LEAD", permit_id="HW-1")
    at = T0 - timedelta(minutes=59)
    uncertified = HotWorkRoleAssigned(role=HotWorkRole.OPERATOR, person=person("P-NEW"))
    assert refused(s, uncertified, at) == ["HOT_WORK_OPERATOR_NOT_CERTIFIED"]
    s.record(
        HotWorkRoleAssigned(role=HotWorkRole.OPERATOR, person=person("P-WELD", certified=True)),
        at,
        actor="P-LEAD",
    )
    watcher = HotWorkRoleAssigned(
        role=HotWorkRole.FIRE_WATCHER, person=person("P-WELD", certified=True)
    )
    assert refused(s, watcher, at) == ["HOT_WORK_WATCHER_IS_OPERATOR"]
    assert refused(s, approval(s, at), at, "P-SAFE") == ["HOT_WORK_NO_FIRE_WATCHER"]


@pytest.mark.parametrize(
    ("reading", "passes"),
    [
        (HotWorkGasReading(channel="LEL", value=10, unit="%LEL", gas="CH4"), True),  # 0.5 %VOL
        (HotWorkGasReading(channel="LEL", value=10.5, unit="%LEL", gas="CH4"), False),
        (HotWorkGasReading(channel="C3H8", value=0.2, unit="%VOL"), True),  # LEL 2.1 < 4
        (HotWorkGasReading(channel="C3H8", value=0.21, unit="%VOL"), False),
        (HotWorkGasReading(channel="CH4", value=5000, unit="ppm"), True),  # 0.5 %VOL
        # No gas basis: it must pass for every gas of the LEL table; the worst is
        # NH3 (LEL 15 %VOL, limit 0.5 %VOL): 3.3 %LEL is 0.495 %VOL, 3.4 is 0.51.
        (HotWorkGasReading(channel="LEL", value=3.4, unit="%LEL"), False),
        (HotWorkGasReading(channel="LEL", value=3.3, unit="%LEL"), True),
        # An own lel_vol wins: 10 %LEL of a 2 %VOL gas is 0.2 %VOL.
        (HotWorkGasReading(channel="LEL", value=10, unit="%LEL", gas="CH4", lel_vol=2.0), True),
    ],
)
def test_the_flammable_limit_is_by_volume_chosen_by_the_gas_lel(
    reading: HotWorkGasReading, passes: bool
) -> None:
    payload = analysis(T0, readings=(reading,))
    assert (judge_analysis(payload, T0) == []) is passes


def test_an_analysis_too_far_or_without_oxygen_inside_equipment_fails() -> None:
    assert [r["code"] for r in judge_analysis(analysis(T0, distance_m=10.5), T0)] == [
        "HOT_WORK_ANALYSIS_TOO_FAR"
    ]
    assert judge_analysis(analysis(T0, distance_m=10), T0) == []
    inside = analysis(T0, inside_equipment=True)
    assert [r["code"] for r in judge_analysis(inside, T0)] == ["HOT_WORK_NO_OXYGEN_READING"]
    rich = analysis(
        T0,
        inside_equipment=True,
        readings=(
            HotWorkGasReading(channel="LEL", value=0, unit="%LEL", gas="CH4"),
            HotWorkGasReading(channel="O2", value=23.6, unit="%VOL"),
        ),
    )
    assert [r["code"] for r in judge_analysis(rich, T0)] == ["HOT_WORK_OXYGEN_HIGH"]


def test_an_untrusted_reading_or_an_uncalibrated_detector_gives_no_pass() -> None:
    faulted = HotWorkGasReading(channel="LEL", value=0, unit="%LEL", gas="CH4", status=("warmup",))
    codes = [r["code"] for r in judge_analysis(analysis(T0, readings=(faulted,)), T0)]
    # The faulted value is no reading at all: fail closed.
    assert codes == ["HOT_WORK_SENSOR_FAULT", "HOT_WORK_NO_FLAMMABLE_READING"]
    low_battery = faulted.model_copy(update={"status": ("low_battery",)})
    assert judge_analysis(analysis(T0, readings=(low_battery,)), T0) == []
    stale = DETECTOR.model_copy(update={"calibration_due": date(2026, 12, 1)})
    codes = [r["code"] for r in judge_analysis(analysis(T0, detector=stale), T0)]
    assert codes == ["HOT_WORK_CALIBRATION_EXPIRED"]


def test_the_fire_starts_only_within_30_min_of_the_analysis(key: DeviceKey) -> None:
    s = approved_session(key)
    s.record(analysis(T0 - timedelta(minutes=31)), T0 - timedelta(minutes=31), actor="P-GAS")
    fire = HotWorkFireStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, T0))
    assert refused(s, fire, T0, "P-WELD") == ["HOT_WORK_ANALYSIS_TOO_OLD"]


@pytest.mark.parametrize(("minutes", "needs_new"), [(30, False), (31, True)])
def test_an_interruption_longer_than_the_level_allows_needs_a_new_analysis(
    key: DeviceKey, minutes: int, needs_new: bool
) -> None:
    s = active_session(key)
    s.record(HotWorkInterrupted(), T0 + timedelta(minutes=5), actor="P-WELD")
    at = T0 + timedelta(minutes=5 + minutes)
    fire = HotWorkFireStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, at))
    if needs_new:
        assert "HOT_WORK_REANALYSIS_NEEDED" in refused(s, fire, at, "P-WELD")
        s.record(analysis(at - timedelta(minutes=1)), at, actor="P-GAS")
    start_fire(s, at)
    assert s.state.status is HotWorkStatus.ACTIVE


def test_special_level_needs_continuous_monitoring(key: DeviceKey) -> None:
    s = rostered_session(key, base_level=HotWorkLevel.SPECIAL)
    at = T0 - timedelta(minutes=40)
    s.record(approval(s, at, "P-BOSS", HotWorkAuthority.PRODUCTION_SAFETY_LEAD), at, actor="P-BOSS")
    s.record(analysis(T0 - timedelta(minutes=5)), T0 - timedelta(minutes=5), actor="P-GAS")
    fire = HotWorkFireStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, T0))
    assert refused(s, fire, T0, "P-WELD") == ["HOT_WORK_MONITORING_REQUIRED"]
    s.record(HotWorkMonitoringStarted(detector=DETECTOR, fire_point_id="FP-1"), T0, actor="P-GAS")
    start_fire(s, T0)
    assert s.state.status is HotWorkStatus.ACTIVE


def test_a_hot_job_in_a_confined_space_needs_that_permit_active(key: DeviceKey) -> None:
    s = approved_session(key, linked_permit_id="CS-9", linked_space_id="TANK-3")
    s.record(analysis(T0 - timedelta(minutes=5)), T0 - timedelta(minutes=5), actor="P-GAS")

    def snap(status: str) -> LinkedPermitSnapshot:
        return LinkedPermitSnapshot(
            permit_id="CS-9", status=status, seq=12, head_hash="a" * 64, space_id="TANK-3"
        )

    watcher = s.signoff("P-WATCH", SignOffMeaning.GUARD, T0)
    assert refused(s, HotWorkFireStarted(watcher=watcher), T0, "P-WELD") == [
        "HOT_WORK_LINKED_PERMIT_MISSING"
    ]
    not_active = HotWorkFireStarted(watcher=watcher, linked=snap("approved"))
    assert refused(s, not_active, T0, "P-WELD") == ["HOT_WORK_LINKED_PERMIT_NOT_ACTIVE"]
    start_fire(s, T0, linked=snap("active"))
    assert alarm_concerns(s.state, space_id="TANK-3")


def test_an_alarm_near_a_fire_point_suspends_at_once_and_resuming_needs_a_new_analysis(
    key: DeviceKey,
) -> None:
    s = active_session(key)
    assert alarm_concerns(s.state, position=(0, 10, 1))
    assert not alarm_concerns(s.state, position=(0, 10.01, 1))
    at = T0 + timedelta(minutes=20)
    s.record(
        HotWorkAlarmRaised(
            alarm_id="A-1", channel="LEL", fire_point_id="FP-1", value=12, limit=10, unit="%LEL"
        ),
        at,
        actor="P-WATCH",
    )
    assert s.state.status is HotWorkStatus.SUSPENDED
    later = at + timedelta(minutes=10)
    assert refused(s, HotWorkResumed(), later) == [
        "HOT_WORK_ALARM_ACTIVE",
        "HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS",
    ]
    s.record(HotWorkAlarmCleared(alarm_id="A-1"), later, actor="P-WATCH")
    assert refused(s, HotWorkResumed(), later) == ["HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS"]
    s.record(analysis(later), later, actor="P-GAS")
    s.record(HotWorkResumed(), later, actor="P-LEAD")
    assert s.state.status is HotWorkStatus.GAS_OK
    start_fire(s, later)


def test_cancelling_after_a_fire_waits_for_the_fire_watch(key: DeviceKey) -> None:
    s = active_session(key)
    s.record(HotWorkSuspended(reason="rain"), T0 + timedelta(minutes=5), actor="P-LEAD")
    assert refused(s, HotWorkCancelled(reason="rain"), T0 + timedelta(minutes=6)) == [
        "HOT_WORK_FIRE_WATCH_OWED"
    ]


def test_the_nfpa51b_profile_watches_for_60_minutes(key: DeviceKey) -> None:
    s = active_session(key)
    assert s.state.fire_watch == timedelta(minutes=30)
    other = approved_session(DeviceKey.generate("TAB-2"), profile="nfpa51b")
    assert other.state.fire_watch == timedelta(minutes=60)


def test_replay_finds_a_fire_started_without_analysis_watcher_or_validity(key: DeviceKey) -> None:
    s = approved_session(key)
    # A tampered or buggy device writes the fire start anyway (no decide, no rules).
    late = T0 + timedelta(hours=9)  # past the 8 h of 一级 (and the window's end)
    forged = new_event(
        HotWorkFireStarted(watcher=s.signoff("P-WELD", SignOffMeaning.GUARD, late)),
        permit_id="HW-1",
        seq=s.state.seq + 1,
        actor="P-WELD",
        device_id=key.device_id,
        occurred_at=late,
    )
    events = [*s.events, seal(forged, s.state.head_hash, key)]
    result = replay_permit(events, late)
    assert sorted(f.code for f in result.findings) == [
        "HOT_WORK_OUTSIDE_VALIDITY",
        "HOT_WORK_WITHOUT_FIRE_WATCHER",
        "HOT_WORK_WITHOUT_PASSING_ANALYSIS",
    ]
    assert [v.seq for v in result.violations] == [forged.seq]
    assert all(f.clause == "GB 30871-2022 §5" for f in result.findings)


# ------------------------------------------------- random event sequences

# Weighted towards a job that gets somewhere (repeats make an action likelier), with
# the disruptions mixed in; minutes between steps straddle every limit (30 min
# analysis age and interruption, the 30 min fire watch).
_STEPS = (
    *["analyse"] * 8,
    *["fire"] * 8,
    *["done"] * 4,
    *["watch"] * 4,
    *["confirm"] * 4,
    *["end"] * 8,
    *["resume"] * 4,
    *["close"] * 4,
    "bad_analysis",
    "interrupt",
    "alarm",
    "clear",
    "suspend",
    "cancel",
)
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(_STEPS),
        st.one_of(*[st.integers(min_value=0, max_value=8)] * 3, st.integers(25, 35)),
    ),
    min_size=10,
    max_size=60,
)
# A whole job with a fire watch ended too early, then in time: always tried first.
_WHOLE_JOB = [
    ("analyse", 1),
    ("fire", 1),
    ("interrupt", 3),
    ("fire", 31),
    ("analyse", 0),
    ("fire", 1),
    ("done", 5),
    ("watch", 1),
    ("confirm", 5),
    ("end", 20),
    ("end", 10),
    ("close", 0),
]


def _payload(s: HotWorkSession, action: str, at: datetime) -> object:
    if action == "analyse":
        return analysis(at)
    if action == "bad_analysis":
        return analysis(at, lel=50)
    if action == "fire":
        return HotWorkFireStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, at))
    if action == "interrupt":
        return HotWorkInterrupted()
    if action == "done":
        return HotWorkDone()
    if action == "watch":
        return HotWorkFireWatchStarted(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, at))
    if action == "confirm":
        return HotWorkWatchConfirmed(watcher=s.signoff("P-WATCH", SignOffMeaning.GUARD, at))
    if action == "end":
        return HotWorkFireWatchEnded(
            watcher=s.signoff("P-WATCH", SignOffMeaning.CLOSE, at), no_residual_fire=True
        )
    if action == "alarm":
        return HotWorkAlarmRaised(alarm_id=f"A-{s.state.seq}", fire_point_id="FP-1")
    if action == "clear":
        return HotWorkAlarmCleared(alarm_id=min(s.state.alarms, default="A-none"))
    if action == "suspend":
        return HotWorkSuspended(reason="test")
    if action == "resume":
        return HotWorkResumed()
    if action == "close":
        return HotWorkClosed(signoff=s.signoff("P-LEAD", SignOffMeaning.CLOSE, at))
    return HotWorkCancelled(reason="test")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
@example(_WHOLE_JOB)
def test_random_sequences_keep_the_fire_watch_and_the_new_analysis_rules(
    actions: list[tuple[str, int]],
) -> None:
    s = approved_session(DeviceKey.generate("TAB-P"), planned_end=T0 + timedelta(hours=8))
    at = T0
    for action, minutes in actions:
        at += timedelta(minutes=minutes)
        before = s.state
        try:
            s.record(_payload(s, action, at), at, actor="P-LEAD")  # type: ignore[arg-type]
        except RuleViolation:
            assert s.state is before  # a refusal changes nothing
            continue
        after = s.state
        if after.status is HotWorkStatus.WATCH_DONE and before.status is HotWorkStatus.FIRE_WATCH:
            assert after.watch_ended_at is not None and after.watch_started_at is not None
            assert after.watch_ended_at - after.watch_started_at >= after.fire_watch
        if before.status is HotWorkStatus.SUSPENDED and after.status is not HotWorkStatus.SUSPENDED:
            if after.status is HotWorkStatus.GAS_OK:
                since = before.suspended_at
                assert since is not None
                latest = after.latest_analysis("FP-1")
                assert latest is not None and latest.acceptable and latest.sampled_at > since
        if after.status is HotWorkStatus.ACTIVE and before.status is not HotWorkStatus.ACTIVE:
            assert before.status in (HotWorkStatus.GAS_OK, HotWorkStatus.INTERRUPTED)
        if after.status is HotWorkStatus.CANCELLED and before.fire_ever_started:
            assert before.status is HotWorkStatus.WATCH_DONE
    # Every recorded chain replays to the same state and breaks no rule.
    result = replay_permit(s.events, at)
    assert result.state == s.state and not result.violations


# ------------------------------------------------- SIMOPS


def test_a_hot_work_permit_joins_the_simops_check_and_acknowledges_in_its_chain(
    key: DeviceKey,
) -> None:
    from permits.hot_work.events import (
        HotWorkSimopsAcknowledged,
    )
    from permits.hot_work.simops import hot_work_acknowledgements, hot_work_footprint
    from permits.simops import (
        Acknowledgement,
        Activity,
        Footprint,
        Point,
        Verdict,
        WorkType,
        conflicts,
        pair_digest,
        unresolved,
    )

    s = approved_session(key, linked_permit_id="CS-9", linked_space_id="TANK-3")
    hot = hot_work_footprint(s.state)
    assert hot.points == (Point(0, 0, 1),) and hot.approver == "P-SAFE"
    # A second crew's confined-space permit in the same tank (CS-9, the one the hot
    # work is linked to, is the same job: never a conflict, permits.simops.one_job).
    entry = Footprint(
        permit_id="CS-8",
        type=WorkType.CONFINED_SPACE,
        start=T0,
        end=T0 + timedelta(hours=6),
        activities=frozenset(),
        points=(Point(40, 0, 0),),
        space_id="TANK-3",
        approver="P-WANG",
    )
    assert conflicts([hot, dataclasses.replace(entry, permit_id="CS-9")]) == []
    [conflict] = conflicts([hot, entry])
    assert conflict.verdict is Verdict.CONDITIONAL
    digest = pair_digest(hot, entry)
    at = T0 - timedelta(minutes=30)
    ack = HotWorkSimopsAcknowledged(
        other_permit_id="CS-8",
        coordinator_id="P-COORD",
        digest=digest,
        signoff=s.signoff("P-SAFE", SignOffMeaning.APPROVE, at),
    )
    s.record(ack, at, actor="P-SAFE")
    theirs = Acknowledgement("CS-8", "HW-1", "P-WANG", "P-COORD", digest)
    mine = hot_work_acknowledgements(s.state)
    assert unresolved([hot, entry], mine) == [conflict]  # the other approver has not
    assert unresolved([hot, entry], (*mine, theirs)) == []
    painter = Footprint(
        permit_id="PT-1",
        type=WorkType.GENERAL,
        start=T0,
        end=T0 + timedelta(hours=1),
        activities=frozenset({Activity.PAINTING}),
        points=(Point(0, 10, 1),),
    )
    assert [c.verdict for c in conflicts([hot, painter])] == [Verdict.NEVER]


def test_the_permit_cli_replays_a_hot_work_chain(tmp_path: Path, key: DeviceKey) -> None:
    s = active_session(key)
    export = export_chain(s.events, {key.device_id: key.public_b64()})
    chain = tmp_path / "hot.json"
    chain.write_text(json.dumps(export), encoding="utf-8")
    pinned = tmp_path / "keys.json"  # the device's key, pinned: the trust anchor
    pinned.write_text(json.dumps({key.device_id: key.public_b64()}), encoding="utf-8")
    now = (T0 + timedelta(hours=1)).isoformat()
    result = CliRunner().invoke(
        app, ["permit", "replay", str(chain), "--keys", str(pinned), "--now", now]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["integrity"]["valid"] and out["state"]["permit_type"] == "hot_work"
    assert out["state"]["status"] == "active" and out["findings"] == []


def test_typed_values_need_a_countersign_by_a_second_person(key: DeviceKey) -> None:
    """docs/rules.md, Hot work: typed values (``manual``) carry a second person's
    signature in the event; the analyst cannot countersign."""
    s = approved_session(key)
    at = T0 - timedelta(minutes=10)
    typed = (
        HotWorkGasReading(channel="LEL", value=0.0, unit="%LEL", gas="CH4", status=("manual",)),
    )
    for countersign, code in (
        (None, "MANUAL_TEST_NOT_COUNTERSIGNED"),
        (s.signoff("P-GAS", SignOffMeaning.COUNTERSIGN, at), "COUNTERSIGN_SAME_PERSON"),
        (s.signoff("P-WATCH", SignOffMeaning.GUARD, at), "SIGNOFF_WRONG_MEANING"),
    ):
        payload = analysis(at, readings=typed, countersign=countersign)
        assert code in refused(s, payload, at, "P-GAS")
    good = s.signoff("P-WATCH", SignOffMeaning.COUNTERSIGN, at)
    event = s.record(analysis(at, readings=typed, countersign=good), at, actor="P-GAS")
    assert event.payload.countersign is not None
    assert s.state.status is HotWorkStatus.GAS_OK
    # a detector's own reading needs none
    s.record(analysis(at + timedelta(minutes=1)), at + timedelta(minutes=1), actor="P-GAS")
