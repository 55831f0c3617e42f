"""Live monitoring during work (RULES.md section 2, "During work", and section 3).

The tablet's presenter calls :func:`assess_live` about once a second with the
recent readings of each channel. Alarms mean evacuate; warnings are shown to
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
from permits.readings import Channel, Reading, StatusFlag, Unit

__all__ = [
    "ALARM_CODES",
    "WARNING_CODES",
    "LiveAssessment",
    "assess_live",
]

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
    absent from it is a stale stream.
    """
    if now.tzinfo is None:
        raise InvalidInput("now", _("a date-time with a UTC offset"), now.isoformat())
    alarms: list[Reason] = []
    warnings: list[Reason] = []
    channels = list(dict.fromkeys([*required_channels, *window_by_channel]))
    for channel in channels:
        readings = window_by_channel.get(channel, ())
        try:
            _assess_channel(
                channel, readings, profile, now, oxygen_enriched, point, alarms, warnings
            )
        except InvalidInput:
            # A reading we cannot interpret (a unit or gas that does not fit the
            # channel) is an untrusted reading: alarm, never silence.
            alarms.append(Reason(SENSOR_FAULT, point=point, channel=channel.value))
    if last_bump_test is not None and now - last_bump_test > profile.bump_test_max_age:
        warnings.append(
            Reason(
                BUMP_TEST_EXPIRED,
                point=point,
                value=_round((now - last_bump_test).total_seconds() / 3600),
                limit=profile.bump_test_max_age.total_seconds() / 3600,
                unit="h",
            )
        )
    return LiveAssessment(
        at=now, alarms=tuple(dict.fromkeys(alarms)), warnings=tuple(dict.fromkeys(warnings))
    )


def _assess_channel(
    channel: Channel,
    readings: Sequence[Reading],
    profile: Profile,
    now: datetime,
    oxygen_enriched: bool,
    point: str | None,
    alarms: list[Reason],
    warnings: list[Reason],
) -> None:
    monitoring = profile.monitoring
    # A reading without a receive time, or stamped in the future, cannot be placed
    # on the time line: it is not evidence of anything.
    timed = sorted(
        (
            r
            for r in readings
            if r.received_at is not None
            and r.received_at.tzinfo is not None
            and r.received_at <= now
        ),
        key=lambda r: r.received_at or now,
    )
    if timed and not _usable(timed[-1]):
        alarms.append(Reason(SENSOR_FAULT, point=point, channel=channel.value))
    trusted = [r for r in timed if _usable(r)]
    if not trusted:
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
    latest = trusted[-1]
    assert latest.received_at is not None
    age = (now - latest.received_at).total_seconds()
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
    if StatusFlag.LOW_BATTERY in timed[-1].status:
        warnings.append(Reason(LOW_BATTERY, point=point, channel=channel.value))

    # 1. The instantaneous value against the entry limits.
    alarms.extend(
        check_value(
            channel,
            latest.value,
            latest.unit,
            profile,
            gas=latest.gas,
            lel_vol=latest.lel_vol,
            oxygen_enriched=oxygen_enriched,
            point=point,
        )
    )

    # The series in the latest reading's unit, seconds since the first reading.
    t0 = trusted[0].received_at
    assert t0 is not None
    try:
        values = np.array(
            [
                units.convert(r.value, r.unit, latest.unit, gas=_gas(channel, r), lel_vol=r.lel_vol)
                for r in trusted
            ],
            dtype=np.float64,
        )
    except InvalidInput:
        # Readings of one channel that cannot be put in one unit cannot be averaged.
        alarms.append(Reason(SENSOR_FAULT, point=point, channel=channel.value))
        return
    times = np.array(
        [(r.received_at - t0).total_seconds() for r in trusted if r.received_at is not None],
        dtype=np.float64,
    )

    # 2. STEL and 8-h TWA for gases that have them (GBZ 2.1, mg/m3).
    gas = get_gas(channel.value) if channel not in (Channel.LEL, Channel.O2) else None
    if gas is not None and gas.toxic:
        mg = np.array(
            [units.convert(v, latest.unit, Unit.MG_M3, gas=gas.formula) for v in values],
            dtype=np.float64,
        )
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
        projection_args = {
            "recent_s": monitoring.stel_window_min * 60,
            "period_s": monitoring.twa_hours * 3600,
        }
        if gas.pc_twa_mg_m3 is not None:
            projected = exposure.projected_twa_8h(times, mg, **projection_args)
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
            ppm = np.array(
                [units.convert(v, latest.unit, Unit.PPM, gas=gas.formula) for v in values],
                dtype=np.float64,
            )
            projected_ppm = exposure.projected_twa_8h(times, ppm, **projection_args)
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
        latest.unit,
        profile,
        gas=latest.gas,
        lel_vol=latest.lel_vol,
        oxygen_enriched=oxygen_enriched,
    ):
        seconds = exposure.time_to_alarm(
            times, values, limit.limit, monitoring.trend_window_min * 60, falling=limit.falling
        )
        if seconds is not None and 0 < seconds <= monitoring.trend_warning_min * 60:
            warnings.append(
                Reason(TREND_TO_ALARM, point, channel.value, _round(seconds), None, "s")
            )


def _usable(reading: Reading) -> bool:
    """Trusted flags and a plausible number: NaN, infinity or a negative
    concentration from a driver is a fault, never a clean value."""
    return reading.trusted and math.isfinite(reading.value) and reading.value >= 0


def _gas(channel: Channel, reading: Reading) -> str | None:
    return reading.gas if channel is Channel.LEL else channel.value


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
