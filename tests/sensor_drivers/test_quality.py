"""The quality layer on its own, with an explicit clock (no sleeping, no timing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from permits.readings import Channel, Reading, StatusFlag, Unit
from sensor_drivers import DeviceInfo, IssueCode, QualityLimits, QualityMonitor, Severity

LIMITS = replace(QualityLimits.defaults(), stale_after_s=5.0, stuck_after_s=60.0)


def r(channel: Channel, value: float, unit: Unit = Unit.PPM) -> Reading:
    return Reading("SN1", channel, value, unit)


def test_defaults_come_from_the_data_file() -> None:
    limits = QualityLimits.defaults()
    assert limits.o2_max_vol == 30.0
    assert limits.bump_max_age_h == 24.0


@pytest.mark.parametrize(
    ("reading", "full_scale", "reason"),
    [
        (r(Channel.O2, 30.5, Unit.VOL), None, "o2_above_max"),
        (r(Channel.H2S, -2.5), None, "negative_beyond_noise"),
        (r(Channel.LEL, 101, Unit.LEL), None, "above_full_scale"),
        (r(Channel.CO, 1001), 1000.0, "above_full_scale"),
    ],
)
def test_implausible_values_become_faulted_readings(
    reading: Reading, full_scale: float | None, reason: str
) -> None:
    checked, issues = QualityMonitor(LIMITS).reading(reading, 0.0, full_scale)
    assert [(i.code, i.severity, i.reason) for i in issues] == [
        (IssueCode.IMPLAUSIBLE_VALUE, Severity.FAULT, reason)
    ]
    assert StatusFlag.FAULT in checked.status and not checked.trusted


@pytest.mark.parametrize(
    "reading",
    [
        r(Channel.O2, 23.0, Unit.VOL),
        r(Channel.H2S, -1.5),
        r(Channel.CO, 999),
        r(Channel.LEL, 0, Unit.LEL),
    ],
)
def test_plausible_values_pass_untouched(reading: Reading) -> None:
    checked, issues = QualityMonitor(LIMITS).reading(reading, 0.0, 1000.0)
    assert issues == [] and checked == reading


def test_stale_stream_is_one_fault_per_silence() -> None:
    q = QualityMonitor(LIMITS)
    assert q.tick(4.0, started_at=0.0) == []
    (issue,) = q.tick(5.5, started_at=0.0)  # never a reading: stale from the start
    assert (issue.code, issue.severity) == (IssueCode.STALE_STREAM, Severity.FAULT)
    assert q.tick(7.0, started_at=0.0) == []  # reported once
    q.reading(r(Channel.CO, 1), 8.0)
    assert not q.stale(9.0, 0.0)
    assert [i.code for i in q.tick(13.5, 0.0)] == [IssueCode.STALE_STREAM]


def test_stuck_value_while_others_move_is_a_warning() -> None:
    q = QualityMonitor(LIMITS)
    for t in range(0, 70, 5):
        q.reading(r(Channel.H2S, 1.0), float(t))
        q.reading(r(Channel.CO, float(t)), float(t))  # CO moves
    issues = q.tick(65.0, 0.0)
    assert [(i.code, i.channel, i.severity) for i in issues] == [
        (IssueCode.STUCK_VALUE, Channel.H2S, Severity.WARNING)
    ]


def test_all_channels_steady_is_not_stuck() -> None:
    q = QualityMonitor(LIMITS)
    for t in range(0, 70, 5):
        q.reading(r(Channel.H2S, 0.0), float(t))
        q.reading(r(Channel.CO, 0.0), float(t))
    assert q.tick(65.0, 0.0) == []


def test_low_battery_by_flag_or_percentage_warns_once() -> None:
    q = QualityMonitor(LIMITS)
    assert q.battery(80, frozenset()) == []
    (issue,) = q.battery(10, frozenset())
    assert (issue.code, issue.severity) == (IssueCode.LOW_BATTERY, Severity.WARNING)
    assert q.battery(9, frozenset()) == []
    assert q.battery(80, frozenset()) == []
    assert [i.code for i in q.battery(None, frozenset({StatusFlag.LOW_BATTERY}))] == [
        IssueCode.LOW_BATTERY
    ]


def test_calibration_due_and_bump_overdue_from_device_info() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    good = DeviceInfo("SN", "M", "1", date(2026, 12, 31), now - timedelta(hours=3))
    assert QualityMonitor(LIMITS).device_info(good, now) == []
    bad = DeviceInfo("SN", "M", "1", date(2026, 11, 27), now - timedelta(hours=25))
    codes = [i.code for i in QualityMonitor(LIMITS).device_info(bad, now)]
    assert codes == [IssueCode.CALIBRATION_DUE, IssueCode.BUMP_OVERDUE]
    unknown = DeviceInfo("SN", "M", "1", None, None)  # missing dates fail closed
    assert len(QualityMonitor(LIMITS).device_info(unknown, now)) == 2
