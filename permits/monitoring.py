"""Live monitoring during work (docs/rules.md, "During work" and "Trusting the detector").

The tablet's presenter calls :func:`assess_live` about once a second with the
recent readings of each channel, or keeps a :class:`LiveMonitor` fed with each
reading and calls its ``assess``. Alarms mean evacuate; warnings are shown to
the guardian. Missing, stale or untrusted data is an alarm (fail closed).

Alarm codes: the entry-limit codes of ``permits.atmosphere`` (``O2_LOW``,
``O2_HIGH``, ``FLAMMABLE_HIGH``, ``TOXIC_HIGH``) for an instantaneous reading,
``STEL_EXCEEDED`` (instantaneous above PC-STEL), ``STEL_TWA_EXCEEDED`` (rolling
15-min TWA above PC-STEL), ``STREAM_STALE`` and ``SENSOR_FAULT``.
Warning codes: ``TWA_8H_PROJECTED``, ``TREND_TO_ALARM``, ``LOW_BATTERY``,
``BUMP_TEST_EXPIRED`` (mid-shift: a warning, never a silent stop).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from permits import exposure, units
from permits.atmosphere import (
    LOW_BATTERY,
    SENSOR_FAULT,
    Reason,
    check_value,
    entry_limits,
)
from permits.errors import InvalidInput
from permits.gases import get_gas
from permits.i18n import gettext as _
from permits.messages import register
from permits.profiles import Profile
from permits.readings import UNTRUSTED_FLAGS, Channel, Reading, StatusFlag, Unit

__all__ = [
    "ALARM_CODES",
    "WARNING_CODES",
    "LiveAssessment",
    "LiveMonitor",
    "assess_live",
]

FloatArray = npt.NDArray[np.float64]

STEL_EXCEEDED = "STEL_EXCEEDED"
STEL_TWA_EXCEEDED = "STEL_TWA_EXCEEDED"
STREAM_STALE = "STREAM_STALE"
TWA_8H_PROJECTED = "TWA_8H_PROJECTED"
TREND_TO_ALARM = "TREND_TO_ALARM"
BUMP_TEST_EXPIRED = "BUMP_TEST_EXPIRED"

ALARM_CODES = frozenset(
    {
        "O2_LOW",
        "O2_HIGH",
        "FLAMMABLE_HIGH",
        "TOXIC_HIGH",
        STEL_EXCEEDED,
        STEL_TWA_EXCEEDED,
        STREAM_STALE,
        SENSOR_FAULT,
    }
)
WARNING_CODES = frozenset({TWA_8H_PROJECTED, TREND_TO_ALARM, LOW_BATTERY, BUMP_TEST_EXPIRED})


@dataclass(frozen=True)
class LiveAssessment:
    at: datetime
    alarms: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()

    @property
    def evacuate(self) -> bool:
        return bool(self.alarms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "evacuate": self.evacuate,
            "alarms": [a.as_dict() for a in self.alarms],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def _round(value: float) -> float:
    return round(value, 4)


def _usable(reading: Reading) -> bool:
    """Trusted flags and a plausible number: NaN, infinity or a negative
    concentration from a driver is a fault, never a clean value."""
    return (
        not (reading.status and reading.status & UNTRUSTED_FLAGS)
        and math.isfinite(reading.value)
        and reading.value >= 0
    )


def _placed(reading: Reading) -> bool:
    # A reading without an aware receive time cannot be placed on the time line.
    return reading.received_at is not None and reading.received_at.tzinfo is not None


def _kind(channel: Channel, reading: Reading) -> _Kind:
    return (reading.unit, reading.gas if channel is Channel.LEL else channel.value, reading.lel_vol)


# (unit, gas, lel_vol): everything a conversion of one reading depends on.
_Kind = tuple[Unit, str | None, float | None]


@dataclass(frozen=True)
class _Latest:
    """The newest usable reading of a channel, in its own unit."""

    value: float
    kind: _Kind
    at_s: float


@dataclass(frozen=True)
class _ChannelView:
    """One channel at ``now``: usable readings as arrays in ``unit``, oldest first."""

    times_s: FloatArray  # epoch seconds
    values: FloatArray  # in ``unit``
    unit: Unit | None
    latest: _Latest | None
    last_is_fault: bool
    last_low_battery: bool


def _bump_warning(
    profile: Profile, now: datetime, last_bump_test: datetime | None, point: str | None
) -> list[Reason]:
    if last_bump_test is None or now - last_bump_test <= profile.bump_test_max_age:
        return []
    return [
        Reason(
            BUMP_TEST_EXPIRED,
            point=point,
            value=_round((now - last_bump_test).total_seconds() / 3600),
            limit=profile.bump_test_max_age.total_seconds() / 3600,
            unit="h",
        )
    ]


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise InvalidInput("now", _("a date-time with a UTC offset"), now.isoformat())


def assess_live(
    window_by_channel: Mapping[Channel, Sequence[Reading]],
    profile: Profile,
    now: datetime,
    *,
    required_channels: Iterable[Channel] = (),
    oxygen_enriched: bool = False,
    point: str | None = None,
    last_bump_test: datetime | None = None,
) -> LiveAssessment:
    """Alarms and warnings for the readings of the recent window, at ``now``.

    ``window_by_channel`` holds each channel's readings (``received_at`` set,
    any order); it should reach back over the shift for the 8-h projection and
    at least ``profile.monitoring.stel_window`` for the STEL. A required channel
    absent from it is a stale stream. For a long window judged every second,
    :class:`LiveMonitor` keeps the arrays between calls and is much cheaper.
    """
    _check_now(now)
    alarms: list[Reason] = []
    warnings: list[Reason] = []
    for channel in dict.fromkeys([*required_channels, *window_by_channel]):
        view = _view_from_readings(channel, window_by_channel.get(channel, ()), now, alarms, point)
        if view is not None:
            _judge_safely(channel, view, profile, now, oxygen_enriched, point, alarms, warnings)
    warnings += _bump_warning(profile, now, last_bump_test, point)
    return LiveAssessment(
        at=now, alarms=tuple(dict.fromkeys(alarms)), warnings=tuple(dict.fromkeys(warnings))
    )


def _view_from_readings(
    channel: Channel,
    readings: Sequence[Reading],
    now: datetime,
    alarms: list[Reason],
    point: str | None,
) -> _ChannelView | None:
    now_s = now.timestamp()
    timed = sorted(
        (r for r in readings if _placed(r) and r.received_at is not None and r.received_at <= now),
        key=lambda r: r.received_at.timestamp() if r.received_at is not None else now_s,
    )
    usable = [r for r in timed if _usable(r)]
    last = timed[-1] if timed else None
    if not usable:
        return _ChannelView(
            _EMPTY, _EMPTY, None, None, last is not None and not _usable(last), False
        )
    newest = usable[-1]
    assert newest.received_at is not None
    latest = _Latest(newest.value, _kind(channel, newest), newest.received_at.timestamp())
    # Each conversion between the four units is a fixed factor for one kind of
    # reading: one cached factor per kind, one pass over the readings.
    factors: dict[_Kind, float] = {}
    value_list: list[float] = []
    time_list: list[float] = []
    try:
        for r in usable:
            key = _kind(channel, r)
            factor = factors.get(key)
            if factor is None:
                factor = units.convert(1.0, key[0], newest.unit, gas=key[1], lel_vol=key[2])
                factors[key] = factor
            value_list.append(r.value * factor)
            time_list.append(r.received_at.timestamp() if r.received_at is not None else now_s)
    except InvalidInput:
        # Readings of one channel that cannot be put in one unit cannot be averaged.
        alarms.append(Reason(SENSOR_FAULT, point=point, channel=channel.value))
        return None
    assert last is not None
    return _ChannelView(
        np.asarray(time_list, dtype=np.float64),
        np.asarray(value_list, dtype=np.float64),
        newest.unit,
        latest,
        not _usable(last),
        StatusFlag.LOW_BATTERY in last.status,
    )


_EMPTY: FloatArray = np.zeros(0, dtype=np.float64)


def _judge_safely(
    channel: Channel,
    view: _ChannelView,
    profile: Profile,
    now: datetime,
    oxygen_enriched: bool,
    point: str | None,
    alarms: list[Reason],
    warnings: list[Reason],
) -> None:
    try:
        _judge(channel, view, profile, now.timestamp(), oxygen_enriched, point, alarms, warnings)
    except InvalidInput:
        # A reading we cannot interpret (a unit or gas that does not fit the
        # channel) is an untrusted reading: alarm, never silence.
        alarms.append(Reason(SENSOR_FAULT, point=point, channel=channel.value))


def _judge(
    channel: Channel,
    view: _ChannelView,
    profile: Profile,
    now_s: float,
    oxygen_enriched: bool,
    point: str | None,
    alarms: list[Reason],
    warnings: list[Reason],
) -> None:
    monitoring = profile.monitoring
    if view.last_is_fault:
        alarms.append(Reason(SENSOR_FAULT, point=point, channel=channel.value))
    latest = view.latest
    if latest is None or view.unit is None or view.values.size == 0:
        alarms.append(
            Reason(
                STREAM_STALE,
                point=point,
                channel=channel.value,
                limit=monitoring.stale_after_s,
                unit="s",
            )
        )
        return
    age = now_s - latest.at_s
    if age > monitoring.stale_after_s:
        alarms.append(
            Reason(
                STREAM_STALE,
                point=point,
                channel=channel.value,
                value=_round(age),
                limit=monitoring.stale_after_s,
                unit="s",
            )
        )
    if view.last_low_battery:
        warnings.append(Reason(LOW_BATTERY, point=point, channel=channel.value))

    unit, gas_name, lel_vol = latest.kind
    # 1. The instantaneous value against the entry limits.
    alarms.extend(
        check_value(
            channel,
            latest.value,
            unit,
            profile,
            gas=gas_name if channel is Channel.LEL else None,
            lel_vol=lel_vol,
            oxygen_enriched=oxygen_enriched,
            point=point,
        )
    )

    times = view.times_s - view.times_s[0]
    values = view.values
    # 2. STEL and 8-h TWA for gases that have them (GBZ 2.1, mg/m3).
    gas = get_gas(channel.value) if channel not in (Channel.LEL, Channel.O2) else None
    if gas is not None and gas.toxic:
        mg = values * units.convert(1.0, view.unit, Unit.MG_M3, gas=gas.formula, lel_vol=lel_vol)
        if gas.pc_stel_mg_m3 is not None:
            if mg[-1] > gas.pc_stel_mg_m3:
                alarms.append(
                    Reason(
                        STEL_EXCEEDED,
                        point,
                        channel.value,
                        _round(float(mg[-1])),
                        gas.pc_stel_mg_m3,
                        Unit.MG_M3.value,
                    )
                )
            stel_twa = float(exposure.rolling_twa(times, mg, monitoring.stel_window_min * 60)[-1])
            if stel_twa > gas.pc_stel_mg_m3:
                alarms.append(
                    Reason(
                        STEL_TWA_EXCEEDED,
                        point,
                        channel.value,
                        _round(stel_twa),
                        gas.pc_stel_mg_m3,
                        Unit.MG_M3.value,
                    )
                )
        recent_s = monitoring.stel_window_min * 60
        period_s = monitoring.twa_hours * 3600
        if gas.pc_twa_mg_m3 is not None:
            projected = exposure.projected_twa_8h(times, mg, recent_s=recent_s, period_s=period_s)
            if projected is not None and projected > gas.pc_twa_mg_m3:
                warnings.append(
                    Reason(
                        TWA_8H_PROJECTED,
                        point,
                        channel.value,
                        _round(projected),
                        gas.pc_twa_mg_m3,
                        Unit.MG_M3.value,
                    )
                )
        if (
            profile.toxic.basis == "osha_pel"
            and gas.osha_pel_ppm is not None
            and not gas.osha_pel_ceiling
        ):
            ppm = values * units.convert(1.0, view.unit, Unit.PPM, gas=gas.formula, lel_vol=lel_vol)
            projected_ppm = exposure.projected_twa_8h(
                times, ppm, recent_s=recent_s, period_s=period_s
            )
            if projected_ppm is not None and projected_ppm > gas.osha_pel_ppm:
                warnings.append(
                    Reason(
                        TWA_8H_PROJECTED,
                        point,
                        channel.value,
                        _round(projected_ppm),
                        gas.osha_pel_ppm,
                        Unit.PPM.value,
                    )
                )

    # 3. Trend: a least-squares line heading for an entry limit soon.
    for limit in entry_limits(
        channel,
        view.unit,
        profile,
        gas=gas_name if channel is Channel.LEL else None,
        lel_vol=lel_vol,
        oxygen_enriched=oxygen_enriched,
    ):
        seconds = exposure.time_to_alarm(
            times, values, limit.limit, monitoring.trend_window_min * 60, falling=limit.falling
        )
        if seconds is not None and 0 < seconds <= monitoring.trend_warning_min * 60:
            warnings.append(
                Reason(TREND_TO_ALARM, point, channel.value, _round(seconds), None, "s")
            )


# ------------------------------------------------------------------ incremental


class _Track:
    """One channel's readings as growable numpy columns, oldest first."""

    def __init__(self) -> None:
        self.n = 0
        self.start = 0
        self.t = np.zeros(256, dtype=np.float64)  # epoch seconds
        self.v = np.zeros(256, dtype=np.float64)  # in ``unit``; NaN when not usable
        self.raw = np.zeros(256, dtype=np.float64)  # the reading's own value
        self.ok = np.zeros(256, dtype=bool)
        self.low_battery = np.zeros(256, dtype=bool)
        self.kind = np.zeros(256, dtype=np.int32)
        self.kinds: list[_Kind] = []
        self.factors: dict[_Kind, float] = {}
        self.unit: Unit | None = None

    def _grow(self) -> None:
        live = self.n - self.start
        size = max(256, 2 * live + 1)
        for name in ("t", "v", "raw", "ok", "low_battery", "kind"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[:live] = old[self.start : self.n]
            setattr(self, name, new)
        self.n, self.start = live, 0

    def add(self, channel: Channel, reading: Reading, horizon_s: float) -> None:
        assert reading.received_at is not None
        at = reading.received_at.timestamp()
        kind = _kind(channel, reading)
        ok = _usable(reading)
        value = math.nan
        if ok:
            if self.unit is None:
                self.unit = reading.unit
            factor = self.factors.get(kind)
            if factor is None:
                try:
                    factor = units.convert(1.0, kind[0], self.unit, gas=kind[1], lel_vol=kind[2])
                except InvalidInput:
                    factor = math.nan  # cannot join this channel's series: a fault
                self.factors[kind] = factor
            ok = math.isfinite(factor)
            value = reading.value * factor if ok else math.nan
        if kind not in self.kinds:
            self.kinds.append(kind)
        if self.n == self.t.size:
            self._grow()
        row = (at, value, reading.value, ok, StatusFlag.LOW_BATTERY in reading.status)
        i = self.n
        if i > self.start and at < self.t[i - 1]:
            # Out of order (rare): shift the newer rows up by one.
            i = self.start + int(np.searchsorted(self.t[self.start : self.n], at, side="right"))
            for name in ("t", "v", "raw", "ok", "low_battery", "kind"):
                col = getattr(self, name)
                col[i + 1 : self.n + 1] = col[i : self.n]
        self.t[i], self.v[i], self.raw[i], self.ok[i], self.low_battery[i] = row
        self.kind[i] = self.kinds.index(kind)
        self.n += 1
        # Forget what is older than the horizon before the newest reading.
        cutoff = self.t[self.n - 1] - horizon_s
        self.start += int(np.searchsorted(self.t[self.start : self.n], cutoff, side="left"))

    def view(self, now_s: float) -> _ChannelView:
        t = self.t[self.start : self.n]
        k = int(np.searchsorted(t, now_s, side="right"))
        if k == 0:
            return _ChannelView(_EMPTY, _EMPTY, None, None, False, False)
        last = self.start + k - 1
        ok = self.ok[self.start : self.start + k]
        rows = np.flatnonzero(ok) + self.start
        if rows.size == 0:
            return _ChannelView(_EMPTY, _EMPTY, None, None, not self.ok[last], False)
        newest = int(rows[-1])
        latest = _Latest(
            float(self.raw[newest]), self.kinds[int(self.kind[newest])], float(self.t[newest])
        )
        return _ChannelView(
            self.t[rows],
            self.v[rows],
            self.unit,
            latest,
            not bool(self.ok[last]),
            bool(self.low_battery[last]),
        )


class LiveMonitor:
    """The live judgement kept between calls: ``add`` each reading as it arrives,
    ``assess(now)`` about once a second. Same rules and codes as
    :func:`assess_live`, without re-reading the whole window every time."""

    def __init__(
        self,
        profile: Profile,
        *,
        required_channels: Iterable[Channel] = (),
        oxygen_enriched: bool = False,
        point: str | None = None,
    ) -> None:
        self.profile = profile
        self.required_channels = tuple(dict.fromkeys(required_channels))
        self.oxygen_enriched = oxygen_enriched
        self.point = point
        monitoring = profile.monitoring
        # Enough history for the 8-h projection and the 15-min STEL window.
        self.horizon_s = monitoring.twa_hours * 3600 + monitoring.stel_window_min * 60
        self._tracks: dict[Channel, _Track] = {}

    def add(self, reading: Reading) -> None:
        if not _placed(reading):
            return
        # Not setdefault: that builds (and throws away) a new track for every reading.
        track = self._tracks.get(reading.channel)
        if track is None:
            track = self._tracks[reading.channel] = _Track()
        track.add(reading.channel, reading, self.horizon_s)

    def extend(self, readings: Iterable[Reading]) -> None:
        for reading in readings:
            self.add(reading)

    def assess(self, now: datetime, *, last_bump_test: datetime | None = None) -> LiveAssessment:
        _check_now(now)
        now_s = now.timestamp()
        alarms: list[Reason] = []
        warnings: list[Reason] = []
        for channel in dict.fromkeys([*self.required_channels, *self._tracks]):
            track = self._tracks.get(channel)
            view = (
                track.view(now_s)
                if track is not None
                else _ChannelView(_EMPTY, _EMPTY, None, None, False, False)
            )
            _judge_safely(
                channel,
                view,
                self.profile,
                now,
                self.oxygen_enriched,
                self.point,
                alarms,
                warnings,
            )
        warnings += _bump_warning(self.profile, now, last_bump_test, self.point)
        return LiveAssessment(
            at=now, alarms=tuple(dict.fromkeys(alarms)), warnings=tuple(dict.fromkeys(warnings))
        )


register(
    STEL_EXCEEDED,
    "{channel} at {value} {unit} is above its short-term limit (PC-STEL {limit} {unit})",
    "Evacuate now; ventilate and find the source before anyone re-enters",
)
register(
    STEL_TWA_EXCEEDED,
    "{channel} averaged {value} {unit} over 15 min, above PC-STEL {limit} {unit}",
    "Evacuate now; ventilate and re-test before anyone re-enters",
)
register(
    STREAM_STALE,
    "No trusted {channel} reading for more than {limit} s: monitoring is lost",
    "Evacuate; check the detector link and battery, then re-test before re-entry",
)
register(
    TWA_8H_PROJECTED,
    "{channel} is heading for an 8-h average of {value} {unit}, above PC-TWA {limit} {unit}",
    "Increase ventilation, shorten the work or rotate the entrants",
)
register(
    TREND_TO_ALARM,
    "{channel} is trending towards its alarm limit in about {value} s",
    "Increase ventilation and be ready to evacuate",
)
register(
    BUMP_TEST_EXPIRED,
    "The detector's bump test is now {value} h old (limit {limit} h)",
    "Bump-test the detector at the next break; monitoring continues meanwhile",
)
