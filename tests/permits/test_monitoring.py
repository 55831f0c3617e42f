"""Live monitoring: alarms, warnings and fail-closed faults on synthetic streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from permits.errors import InvalidInput
from permits.monitoring import ALARM_CODES, WARNING_CODES, LiveMonitor, assess_live
from permits.profiles import load_profile
from permits.readings import Channel, Reading, StatusFlag, Unit

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
GONGMAO = load_profile("cn-gongmao")
OSHA = load_profile("us-osha-1910.146")
GB = load_profile("cn-gb30871-2022")


def stream(
    channel: Channel,
    values: list[float],
    unit: Unit,
    *,
    every_s: float = 60,
    status: frozenset[StatusFlag] = frozenset(),
    gas: str | None = None,
) -> list[Reading]:
    return [
        Reading(
            "GT4-0001",
            channel,
            v,
            unit,
            status=status,
            received_at=T0 + timedelta(seconds=i * every_s),
            gas=gas,
        )
        for i, v in enumerate(values)
    ]


def end_of(readings: list[Reading], after_s: float = 1) -> datetime:
    last = readings[-1].received_at
    assert last is not None
    return last + timedelta(seconds=after_s)


def codes(findings: tuple[object, ...]) -> set[tuple[str, str | None]]:
    return {(f.code, f.channel) for f in findings}  # type: ignore[attr-defined]


def clean_window() -> dict[Channel, list[Reading]]:
    return {
        Channel.O2: stream(Channel.O2, [20.9] * 5, Unit.VOL),
        Channel.H2S: stream(Channel.H2S, [0.0] * 5, Unit.PPM),
    }


def test_clean_air_no_alarm() -> None:
    window = clean_window()
    result = assess_live(window, GONGMAO, end_of(window[Channel.O2]))
    assert not result.evacuate and result.alarms == () and result.warnings == ()


def test_instantaneous_entry_limit_is_an_alarm() -> None:
    window = clean_window()
    window[Channel.H2S] = stream(Channel.H2S, [0, 0, 0, 0, 8.0], Unit.PPM)  # 11.33 mg/m3 > MAC
    result = assess_live(window, GONGMAO, end_of(window[Channel.O2]))
    assert codes(result.alarms) == {("TOXIC_HIGH", "H2S")}
    assert result.evacuate
    assert result.as_dict()["evacuate"] is True


def test_instantaneous_above_stel() -> None:
    # CO 30 mg/m3 = 25.76 ppm: 27 ppm = 31.44 mg/m3 > PC-STEL 30 (and > PC-TWA 20 entry limit).
    window = {Channel.CO: stream(Channel.CO, [0, 0, 27], Unit.PPM)}
    result = assess_live(window, GONGMAO, end_of(window[Channel.CO]))
    assert {"STEL_EXCEEDED", "TOXIC_HIGH"} <= {a.code for a in result.alarms}


def test_rolling_15_min_twa_above_stel_with_no_single_reading_above() -> None:
    # CO2, PC-STEL 18000 mg/m3. A spike that has already passed: 10 min at
    # 30000 mg/m3, then 5 min at 0. The latest value is clean, the 15-min TWA is not.
    values = [30000.0] * 11 + [0.0] * 5  # one per minute, 0..15 min
    window = {Channel.CO2: stream(Channel.CO2, values, Unit.MG_M3)}
    result = assess_live(window, OSHA, end_of(window[Channel.CO2], 0))
    # (10 min * 30000 + 5 min * 0) / 15 = 20000 > 18000; the last value is 0.
    alarm_codes = {a.code for a in result.alarms}
    assert alarm_codes == {"STEL_TWA_EXCEEDED"}
    twa = next(a for a in result.alarms if a.code == "STEL_TWA_EXCEEDED")
    assert twa.value == pytest.approx(20000) and twa.limit == 18000


def test_projected_8h_twa_is_a_warning() -> None:
    # Under the Chinese profiles PC-TWA is the entry limit, so the level alarms
    # first. Under OSHA, NH3 entry is 50 ppm while PC-TWA 20 mg/m3 = 28.25 ppm:
    # 40 ppm is fine to enter (and below PC-STEL 30 mg/m3 = 42.37 ppm) but a
    # constant 40 ppm projects to an 8-h TWA of 28.32 mg/m3 > 20.
    window = {Channel.NH3: stream(Channel.NH3, [40.0] * 20, Unit.PPM)}
    result = assess_live(window, OSHA, end_of(window[Channel.NH3], 0))
    assert result.alarms == ()
    assert codes(result.warnings) == {("TWA_8H_PROJECTED", "NH3")}
    warning = result.warnings[0]
    assert warning.unit == "mg/m3" and warning.limit == 20.0
    assert warning.value == pytest.approx(40 * 17.03 / 24.055, abs=1e-3)  # 28.318


def test_stale_stream_is_an_alarm() -> None:
    window = clean_window()
    stale_at = end_of(window[Channel.O2], GONGMAO.monitoring.stale_after_s + 1)
    fresh_at = end_of(window[Channel.O2], GONGMAO.monitoring.stale_after_s)
    assert codes(assess_live(window, GONGMAO, stale_at).alarms) == {
        ("STREAM_STALE", "O2"),
        ("STREAM_STALE", "H2S"),
    }
    assert assess_live(window, GONGMAO, fresh_at).alarms == ()


def test_required_channel_without_stream_is_stale() -> None:
    window = clean_window()
    result = assess_live(
        window, GONGMAO, end_of(window[Channel.O2]), required_channels=[Channel.O2, Channel.CO]
    )
    assert codes(result.alarms) == {("STREAM_STALE", "CO")}


def test_untrusted_latest_reading_is_a_fault_alarm() -> None:
    # Readings every 5 s; the newest H2S reading is flagged fault. The one before
    # it is 5 s old, so the stream is not stale: the fault alone raises the alarm.
    window = {
        Channel.O2: stream(Channel.O2, [20.9] * 5, Unit.VOL, every_s=5),
        Channel.H2S: stream(Channel.H2S, [0.0] * 4, Unit.PPM, every_s=5),
    }
    window[Channel.H2S].append(
        Reading(
            "GT4-0001",
            Channel.H2S,
            0.0,
            Unit.PPM,
            status=frozenset({StatusFlag.FAULT}),
            received_at=window[Channel.O2][-1].received_at,
        )
    )
    result = assess_live(window, GONGMAO, end_of(window[Channel.O2]))
    assert codes(result.alarms) == {("SENSOR_FAULT", "H2S")}


def test_only_untrusted_readings_is_stale_and_fault() -> None:
    window = {
        Channel.O2: stream(Channel.O2, [20.9] * 3, Unit.VOL, status=frozenset({StatusFlag.WARMUP}))
    }
    result = assess_live(window, GONGMAO, end_of(window[Channel.O2]))
    assert codes(result.alarms) == {("SENSOR_FAULT", "O2"), ("STREAM_STALE", "O2")}


def test_trend_warning_before_the_alarm() -> None:
    # O2 falling 0.1 %/min: at 20.4 after 4 min, 19.5 in 9 min -> warning (limit 10 min).
    window = {Channel.O2: stream(Channel.O2, [20.8, 20.7, 20.6, 20.5, 20.4], Unit.VOL)}
    result = assess_live(window, GONGMAO, end_of(window[Channel.O2], 0))
    assert result.alarms == ()
    assert codes(result.warnings) == {("TREND_TO_ALARM", "O2")}
    assert result.warnings[0].value == pytest.approx(540)
    # Falling half as fast: 20 min away, no warning.
    slow = {Channel.O2: stream(Channel.O2, [20.7, 20.65, 20.6, 20.55, 20.5], Unit.VOL)}
    assert assess_live(slow, GONGMAO, end_of(slow[Channel.O2], 0)).warnings == ()


def test_flammable_trend_uses_profile_limit_in_reading_unit() -> None:
    # Methane +1 %LEL/min, now 6 %LEL: gongmao limit 10 %LEL in 4 min.
    window = {Channel.LEL: stream(Channel.LEL, [2, 3, 4, 5, 6], Unit.LEL, gas="CH4")}
    result = assess_live(window, GONGMAO, end_of(window[Channel.LEL], 0))
    assert codes(result.warnings) == {("TREND_TO_ALARM", "LEL")}
    assert result.warnings[0].value == pytest.approx(240)


def test_oxygen_enriched_limit_during_work() -> None:
    window = {Channel.O2: stream(Channel.O2, [22.0] * 3, Unit.VOL)}
    at = end_of(window[Channel.O2])
    assert codes(assess_live(window, GB, at).alarms) == {("O2_HIGH", "O2")}
    assert assess_live(window, GB, at, oxygen_enriched=True).alarms == ()


def test_low_battery_and_bump_expiry_are_warnings() -> None:
    window = {
        Channel.O2: stream(
            Channel.O2, [20.9] * 3, Unit.VOL, status=frozenset({StatusFlag.LOW_BATTERY})
        )
    }
    at = end_of(window[Channel.O2])
    result = assess_live(window, GONGMAO, at, last_bump_test=at - timedelta(hours=25))
    assert result.alarms == ()
    assert {w.code for w in result.warnings} == {"LOW_BATTERY", "BUMP_TEST_EXPIRED"}


def test_readings_without_time_or_in_the_future_do_not_count() -> None:
    window = clean_window()
    at = end_of(window[Channel.O2])
    window[Channel.H2S] = [
        Reading("GT4-0001", Channel.H2S, 0.0, Unit.PPM, received_at=None),
        Reading("GT4-0001", Channel.H2S, 0.0, Unit.PPM, received_at=at + timedelta(hours=1)),
    ]
    assert codes(assess_live(window, GONGMAO, at).alarms) == {("STREAM_STALE", "H2S")}


def test_naive_now_is_refused() -> None:
    with pytest.raises(InvalidInput):
        assess_live(clean_window(), GONGMAO, datetime(2026, 11, 28, 9, 0))


def test_codes_are_disjoint() -> None:
    assert not ALARM_CODES & WARNING_CODES


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_implausible_latest_value_is_a_fault(bad: float) -> None:
    window = {
        Channel.H2S: stream(Channel.H2S, [0.0] * 4, Unit.PPM, every_s=5),
    }
    last = window[Channel.H2S][-1].received_at
    assert last is not None
    window[Channel.H2S].append(
        Reading("GT4-0001", Channel.H2S, bad, Unit.PPM, received_at=last + timedelta(seconds=5))
    )
    result = assess_live(window, GONGMAO, last + timedelta(seconds=6))
    assert codes(result.alarms) == {("SENSOR_FAULT", "H2S")}


def test_uninterpretable_reading_is_a_fault_not_a_crash() -> None:
    # mg/m3 on an LEL channel with no gas basis cannot be converted.
    window = {Channel.LEL: stream(Channel.LEL, [1.0, 1.0], Unit.MG_M3, every_s=5)}
    result = assess_live(window, GONGMAO, end_of(window[Channel.LEL]))
    assert codes(result.alarms) == {("SENSOR_FAULT", "LEL")}


# --------------------------------------------------------------- LiveMonitor


_CHANNEL_UNITS = [
    (Channel.O2, Unit.VOL, None),
    (Channel.H2S, Unit.PPM, None),
    (Channel.CO, Unit.MG_M3, None),
    (Channel.LEL, Unit.LEL, "CH4"),
    (Channel.NH3, Unit.PPM, None),
]
_READING = st.tuples(
    st.integers(0, len(_CHANNEL_UNITS) - 1),
    st.floats(min_value=0, max_value=60),
    st.integers(0, 3000),  # seconds after T0
    st.sampled_from(
        [frozenset(), frozenset({StatusFlag.FAULT}), frozenset({StatusFlag.LOW_BATTERY})]
    ),
)


def _reading(spec: tuple[int, float, int, frozenset[StatusFlag]]) -> Reading:
    index, value, at, status = spec
    channel, unit, gas = _CHANNEL_UNITS[index]
    if channel is Channel.O2:
        value = 15 + value / 6  # 15..25 %VOL
    return Reading(
        "S", channel, value, unit, status=status, received_at=T0 + timedelta(seconds=at), gas=gas
    )


@settings(max_examples=80, deadline=None)
@given(
    specs=st.lists(_READING, max_size=40),
    now_after=st.integers(0, 3100),
    profile=st.sampled_from([GONGMAO, GB, OSHA]),
)
def test_monitor_agrees_with_assess_live(
    specs: list[tuple[int, float, int, frozenset[StatusFlag]]], now_after: int, profile: object
) -> None:
    assert isinstance(profile, type(GONGMAO))
    readings = [_reading(s) for s in specs]
    now = T0 + timedelta(seconds=now_after)
    required = [Channel.O2, Channel.H2S]
    window: dict[Channel, list[Reading]] = {}
    for r in readings:
        window.setdefault(r.channel, []).append(r)
    expected = assess_live(window, profile, now, required_channels=required)
    monitor = LiveMonitor(profile, required_channels=required)
    monitor.extend(readings)  # any order: the monitor sorts by time
    got = monitor.assess(now)
    assert _rounded_set(got.alarms) == _rounded_set(expected.alarms)
    assert _rounded_set(got.warnings) == _rounded_set(expected.warnings)


def _rounded_set(findings: tuple[object, ...]) -> set[tuple[object, ...]]:
    out = set()
    for f in findings:
        d = f.as_dict()  # type: ignore[attr-defined]
        value = d.get("value")
        out.add((d["code"], d.get("channel"), None if value is None else round(value, 2)))
    return out


def test_monitor_forgets_beyond_its_horizon_and_keeps_judging() -> None:
    monitor = LiveMonitor(GONGMAO)
    # 9 h of H2S at 1 reading a minute: the first hour high, then clean.
    for minute in range(9 * 60):
        value = 50.0 if minute < 60 else 0.0
        monitor.add(
            Reading("S", Channel.H2S, value, Unit.PPM, received_at=T0 + timedelta(minutes=minute))
        )
    track = monitor._tracks[Channel.H2S]
    kept = track.n - track.start
    horizon_min = GONGMAO.monitoring.twa_hours * 60 + GONGMAO.monitoring.stel_window_min
    assert kept <= horizon_min + 1
    result = monitor.assess(T0 + timedelta(minutes=9 * 60 - 1, seconds=1))
    assert result.alarms == () and result.warnings == ()


def test_monitor_stale_and_fault() -> None:
    monitor = LiveMonitor(GONGMAO, required_channels=[Channel.O2, Channel.CO])
    monitor.add(Reading("S", Channel.O2, 20.9, Unit.VOL, received_at=T0))
    monitor.add(
        Reading(
            "S",
            Channel.O2,
            20.9,
            Unit.VOL,
            status=frozenset({StatusFlag.FAULT}),
            received_at=T0 + timedelta(seconds=2),
        )
    )
    result = monitor.assess(T0 + timedelta(seconds=3))
    assert codes(result.alarms) == {("SENSOR_FAULT", "O2"), ("STREAM_STALE", "CO")}
    later = monitor.assess(T0 + timedelta(seconds=60))
    assert ("STREAM_STALE", "O2") in codes(later.alarms)
