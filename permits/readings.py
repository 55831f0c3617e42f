"""Gas readings: the one reading model shared by serial and BLE drivers, the
atmosphere check, the live monitor and the simulator."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    O2 = "O2"
    LEL = "LEL"
    CH4 = "CH4"
    H2 = "H2"
    C3H8 = "C3H8"
    H2S = "H2S"
    CO = "CO"
    CO2 = "CO2"
    NH3 = "NH3"
    Cl2 = "Cl2"
    SO2 = "SO2"
    NO2 = "NO2"


class Unit(StrEnum):
    VOL = "%VOL"
    LEL = "%LEL"
    PPM = "ppm"
    MG_M3 = "mg/m3"


class StatusFlag(StrEnum):
    FAULT = "fault"
    WARMUP = "warmup"
    OVERRANGE = "overrange"
    LOW_BATTERY = "low_battery"
    ALARM_LOW = "alarm_low"
    ALARM_HIGH = "alarm_high"
    CALIBRATION_DUE = "calibration_due"


# One status byte, the same bits in every protocol that has flags (docs/protocols.md).
STATUS_BITS: dict[StatusFlag, int] = {
    StatusFlag.FAULT: 0x01,
    StatusFlag.WARMUP: 0x02,
    StatusFlag.OVERRANGE: 0x04,
    StatusFlag.LOW_BATTERY: 0x08,
    StatusFlag.ALARM_LOW: 0x10,
    StatusFlag.ALARM_HIGH: 0x20,
    StatusFlag.CALIBRATION_DUE: 0x40,
}

# Flags under which a value gives no verdict for its channel (docs/rules.md, Trusting the detector).
UNTRUSTED_FLAGS = frozenset({StatusFlag.FAULT, StatusFlag.WARMUP, StatusFlag.OVERRANGE})


def flags_from_byte(byte: int) -> frozenset[StatusFlag]:
    return frozenset(flag for flag, bit in STATUS_BITS.items() if byte & bit)


def flags_to_byte(flags: Iterable[StatusFlag]) -> int:
    value = 0
    for flag in flags:
        value |= STATUS_BITS[flag]
    return value


def sorted_flags(flags: Iterable[StatusFlag]) -> list[str]:
    """Flag names in bit order, for stable JSON output."""
    present = set(flags)
    return [flag.value for flag in STATUS_BITS if flag in present]


@dataclass(frozen=True, slots=True)
class Reading:
    """One channel value from one detector.

    ``status`` holds the device's flags merged with the channel's own.
    ``device_time_ms`` is the device's clock as it reports it (often uptime, not
    wall time); ``received_at`` is when this host received the bytes.
    ``gas`` names the calibration gas of a %LEL channel and ``lel_vol`` may
    override the LEL used to convert it.
    """

    device_serial: str
    channel: Channel
    value: float
    unit: Unit
    status: frozenset[StatusFlag] = field(default_factory=frozenset)
    received_at: datetime | None = None
    device_time_ms: int | None = None
    gas: str | None = None
    lel_vol: float | None = None

    @property
    def trusted(self) -> bool:
        return not (self.status & UNTRUSTED_FLAGS)
