"""Data quality for live streams: one layer for serial and BLE.

A value that cannot be trusted becomes a fault that the screen shows, never a
silently dropped or silently believed number:

* stale stream (no reading for ``stale_after_s``) → FAULT ``STALE_STREAM``
* a channel unchanged for ``stuck_after_s`` while another channel moved → WARNING
* implausible value (O2 > 30 %VOL, negative beyond noise, above full scale) → FAULT,
  and the reading itself gets the ``fault`` flag so the atmosphere check fails it
* the device said "not available" for a channel → FAULT ``VALUE_NOT_AVAILABLE``
* low battery → WARNING; calibration due or bump test overdue → WARNING (the permit
  rules block a pre-entry test on them; mid-shift they must not stop monitoring)

Times are seconds from a monotonic clock the caller passes in, so the checks are
deterministic under test.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from permits.readings import Channel, Reading, StatusFlag, Unit
from sensor_drivers.protocols.gasl import DeviceInfo

_DATA = Path(__file__).parent / "data" / "quality.toml"


class Severity(StrEnum):
    WARNING = "warning"
    FAULT = "fault"


class IssueCode(StrEnum):
    STALE_STREAM = "STALE_STREAM"
    STUCK_VALUE = "STUCK_VALUE"
    IMPLAUSIBLE_VALUE = "IMPLAUSIBLE_VALUE"
    VALUE_NOT_AVAILABLE = "VALUE_NOT_AVAILABLE"
    LOW_BATTERY = "LOW_BATTERY"
    CALIBRATION_DUE = "CALIBRATION_DUE"
    BUMP_OVERDUE = "BUMP_OVERDUE"


class ImplausibleReason(StrEnum):
    O2_ABOVE_MAX = "o2_above_max"
    NEGATIVE = "negative_beyond_noise"
    ABOVE_FULL_SCALE = "above_full_scale"


@dataclass(frozen=True, slots=True)
class QualityIssue:
    code: IssueCode
    severity: Severity
    channel: Channel | None = None
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"issue": self.code.value, "severity": self.severity.value}
        if self.channel is not None:
            out["channel"] = self.channel.value
        if self.reason:
            out["reason"] = self.reason
        out.update(self.facts)
        return out


@dataclass(frozen=True, slots=True)
class QualityLimits:
    stale_after_s: float
    stuck_after_s: float
    low_battery_pct: int
    o2_max_vol: float
    lel_max: float
    vol_max: float
    ppm_max: float
    negative_noise: dict[Unit, float]
    bump_max_age_h: float

    @classmethod
    def defaults(cls) -> QualityLimits:
        with _DATA.open("rb") as f:
            d = tomllib.load(f)
        p = d["plausibility"]
        return cls(
            stale_after_s=float(d["stream"]["stale_after_s"]),
            stuck_after_s=float(d["stream"]["stuck_after_s"]),
            low_battery_pct=int(d["battery"]["low_battery_pct"]),
            o2_max_vol=float(p["o2_max_vol"]),
            lel_max=float(p["lel_max"]),
            vol_max=float(p["vol_max"]),
            ppm_max=float(p["ppm_max"]),
            negative_noise={Unit(k): float(v) for k, v in p["negative_noise"].items()},
            bump_max_age_h=float(d["trust"]["bump_max_age_h"]),
        )


@dataclass(slots=True)
class _Track:
    value: float
    changed_at: float
    warned: bool = False


class QualityMonitor:
    """Stateful checks over one detector's stream."""

    def __init__(self, limits: QualityLimits | None = None) -> None:
        self.limits = limits or QualityLimits.defaults()
        self.last_reading_at: float | None = None
        self._stale_reported = False
        self._tracks: dict[Channel, _Track] = {}
        self._battery_warned = False

    # --- per reading -------------------------------------------------------------------
    def reading(
        self, reading: Reading, now: float, full_scale: float | None = None
    ) -> tuple[Reading, list[QualityIssue]]:
        """The reading (with ``fault`` added when implausible) and any issues."""
        self.last_reading_at = now
        self._stale_reported = False
        issues: list[QualityIssue] = []
        reason = self.implausible(reading, full_scale)
        if reason is not None:
            issues.append(
                QualityIssue(
                    IssueCode.IMPLAUSIBLE_VALUE,
                    Severity.FAULT,
                    reading.channel,
                    reason.value,
                    {"value": reading.value, "unit": reading.unit.value},
                )
            )
            reading = replace(reading, status=reading.status | {StatusFlag.FAULT})
        self._track(reading, now)
        return reading, issues

    def implausible(
        self, reading: Reading, full_scale: float | None = None
    ) -> ImplausibleReason | None:
        lim = self.limits
        value, unit = reading.value, reading.unit
        if reading.channel is Channel.O2 and unit is Unit.VOL and value > lim.o2_max_vol:
            return ImplausibleReason.O2_ABOVE_MAX
        if value < -lim.negative_noise.get(unit, 0.0):
            return ImplausibleReason.NEGATIVE
        ceiling = {Unit.LEL: lim.lel_max, Unit.VOL: lim.vol_max, Unit.PPM: lim.ppm_max}.get(unit)
        if full_scale is not None and full_scale > 0:
            ceiling = full_scale if ceiling is None else min(ceiling, full_scale)
        if ceiling is not None and value > ceiling:
            return ImplausibleReason.ABOVE_FULL_SCALE
        return None

    def _track(self, reading: Reading, now: float) -> None:
        track = self._tracks.get(reading.channel)
        if track is None or track.value != reading.value:
            self._tracks[reading.channel] = _Track(reading.value, now)

    def unavailable(self, channel: Channel) -> QualityIssue:
        return QualityIssue(IssueCode.VALUE_NOT_AVAILABLE, Severity.FAULT, channel)

    def battery(self, percent: int | None, flags: frozenset[StatusFlag]) -> list[QualityIssue]:
        low = StatusFlag.LOW_BATTERY in flags or (
            percent is not None and percent < self.limits.low_battery_pct
        )
        if not low:
            self._battery_warned = False
            return []
        if self._battery_warned:
            return []
        self._battery_warned = True
        facts = {} if percent is None else {"battery": percent}
        return [QualityIssue(IssueCode.LOW_BATTERY, Severity.WARNING, facts=facts)]

    # --- over time ---------------------------------------------------------------------
    def tick(self, now: float, started_at: float) -> list[QualityIssue]:
        """Stale-stream and stuck-value checks; call about once a second."""
        issues: list[QualityIssue] = []
        since = self.last_reading_at if self.last_reading_at is not None else started_at
        age = now - since
        if age > self.limits.stale_after_s and not self._stale_reported:
            self._stale_reported = True
            issues.append(
                QualityIssue(
                    IssueCode.STALE_STREAM,
                    Severity.FAULT,
                    facts={"age_s": round(age, 3), "limit_s": self.limits.stale_after_s},
                )
            )
        window = self.limits.stuck_after_s
        moving = [ch for ch, t in self._tracks.items() if now - t.changed_at < window]
        for channel, track in self._tracks.items():
            unchanged = now - track.changed_at
            if unchanged >= window and not track.warned and any(ch != channel for ch in moving):
                track.warned = True
                issues.append(
                    QualityIssue(
                        IssueCode.STUCK_VALUE,
                        Severity.WARNING,
                        channel,
                        facts={"value": track.value, "unchanged_s": round(unchanged, 1)},
                    )
                )
        return issues

    def stale(self, now: float, started_at: float) -> bool:
        since = self.last_reading_at if self.last_reading_at is not None else started_at
        return now - since > self.limits.stale_after_s

    # --- device trust ------------------------------------------------------------------
    def device_info(self, info: DeviceInfo, now: datetime) -> list[QualityIssue]:
        issues = []
        today: date = now.date()
        if info.calibration_due is None or info.calibration_due < today:
            issues.append(
                QualityIssue(
                    IssueCode.CALIBRATION_DUE,
                    Severity.WARNING,
                    facts={"calibration_due": str(info.calibration_due)},
                )
            )
        max_age = timedelta(hours=self.limits.bump_max_age_h)
        bump = info.last_bump
        overdue = bump is None
        if bump is not None:
            # Naive against aware cannot be compared: read it as overdue (fail closed).
            if (bump.tzinfo is None) != (now.tzinfo is None):
                overdue = True
            else:
                overdue = now - bump > max_age
        if overdue:
            issues.append(
                QualityIssue(
                    IssueCode.BUMP_OVERDUE,
                    Severity.WARNING,
                    facts={"last_bump": bump.isoformat() if bump else None},
                )
            )
        return issues
