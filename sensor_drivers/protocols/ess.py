"""``ess``: Bluetooth SIG Environmental Sensing Service characteristics.

Gas concentrations are IEEE-11073 16-bit SFLOAT in kg/m³, little-endian on the
air: the top 4 bits are a signed base-10 exponent, the low 12 bits a signed
mantissa. Five mantissa values are reserved and are "not available", never
numbers: 0x07FF NaN, 0x0800 NRes, 0x07FE +INF, 0x0802 −INF, 0x0801 reserved.
CO2 (0x2B8C) is a plain uint16 in ppm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from permits.readings import Channel, Unit
from sensor_drivers.errors import CapabilityError, DriverError, DriverErrorCode, FrameError
from sensor_drivers.gases import mg_m3_to_ppm, ppm_to_mg_m3
from sensor_drivers.protocols._common import ChannelValue, Frame

PROTOCOL = "ess"
_BASE = "0000{:04x}-0000-1000-8000-00805f9b34fb"


def uuid16(short: int) -> str:
    return _BASE.format(short)


SERVICE_UUID = uuid16(0x181A)
CO2_UUID = uuid16(0x2B8C)
SFLOAT_CHARACTERISTICS: dict[str, Channel] = {
    uuid16(0x2BD0): Channel.CO,
    uuid16(0x2BD1): Channel.CH4,
    uuid16(0x2BCF): Channel.NH3,
    uuid16(0x2BD2): Channel.NO2,
    uuid16(0x2BD8): Channel.SO2,
}
CHARACTERISTICS: dict[str, Channel] = {**SFLOAT_CHARACTERISTICS, CO2_UUID: Channel.CO2}
UUID_OF: dict[Channel, str] = {ch: u for u, ch in CHARACTERISTICS.items()}
# What an ESS-only device can ever report: no O2, no H2S characteristic exists.
ESS_CHANNELS: frozenset[Channel] = frozenset(CHARACTERISTICS.values())


class SfloatSpecial(IntEnum):
    NAN = 0x07FF
    NRES = 0x0800
    PLUS_INF = 0x07FE
    MINUS_INF = 0x0802
    RESERVED = 0x0801


_MANTISSA_MAX = 2045  # larger magnitudes collide with the reserved codes
_SPECIAL_MANTISSAS = {s.value for s in SfloatSpecial}


def normalize_uuid(text: str) -> str:
    """Accept ``2bd0``, ``0x2BD0`` or the full 128-bit form."""
    t = text.strip().lower()
    if t.startswith("0x"):
        t = t[2:]
    if len(t) == 4:
        try:
            return uuid16(int(t, 16))
        except ValueError:
            pass
    return t


def decode_sfloat(raw: int) -> float:
    """The number in a 16-bit SFLOAT; specials raise VALUE_NOT_AVAILABLE."""
    raw &= 0xFFFF
    mantissa = raw & 0x0FFF
    if mantissa in _SPECIAL_MANTISSAS:
        raise FrameError(
            DriverErrorCode.VALUE_NOT_AVAILABLE,
            SfloatSpecial(mantissa).name,
            special=SfloatSpecial(mantissa).name,
        )
    exponent = raw >> 12
    if exponent >= 8:
        exponent -= 16
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    # round() removes binary noise from 10**-n so 0x9198 reads 4.08e-05 exactly.
    return float(f"{mantissa * 10.0**exponent:.4g}") if mantissa else 0.0


def encode_sfloat(value: float) -> int:
    """The SFLOAT nearest to ``value`` (NaN and infinities map to their specials)."""
    if math.isnan(value):
        return SfloatSpecial.NAN.value
    if math.isinf(value):
        return (SfloatSpecial.PLUS_INF if value > 0 else SfloatSpecial.MINUS_INF).value
    if value == 0:
        return 0
    for exponent in range(-8, 8):
        mantissa = round(value / 10.0**exponent)
        if abs(mantissa) <= _MANTISSA_MAX:
            return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)
    raise DriverError(DriverErrorCode.INVALID_ARGUMENT, f"{value} is out of SFLOAT range")


@dataclass(frozen=True, slots=True)
class EssMeasurement:
    uuid: str
    channel: Channel
    kg_m3: float | None  # as decoded (None for CO2, which is sent in ppm)
    ppm: float

    def frame(self) -> Frame:
        return Frame(PROTOCOL, (ChannelValue(self.channel, self.ppm, Unit.PPM),))


def decode_characteristic(uuid: str, data: bytes) -> EssMeasurement:
    """Decode one characteristic value (read or notification)."""
    key = normalize_uuid(uuid)
    channel = CHARACTERISTICS.get(key)
    if channel is None:
        raise FrameError(DriverErrorCode.UNKNOWN_GAS, f"characteristic {uuid}", uuid=uuid)
    if len(data) != 2:
        raise FrameError(
            DriverErrorCode.MALFORMED_FRAME, f"expected 2 bytes, got {len(data)}", raw=data.hex(" ")
        )
    raw = int.from_bytes(data, "little")
    if key == CO2_UUID:
        return EssMeasurement(key, channel, None, float(raw))
    kg_m3 = decode_sfloat(raw)
    ppm = mg_m3_to_ppm(kg_m3 * 1e6, channel)
    return EssMeasurement(key, channel, kg_m3, round(ppm, 3))


def encode_characteristic(channel: Channel, ppm: float | None) -> tuple[str, bytes]:
    """UUID and bytes for a value in ppm (None: NaN, "not available")."""
    uuid = UUID_OF.get(channel)
    if uuid is None:
        raise DriverError(
            DriverErrorCode.INVALID_ARGUMENT, f"ESS has no characteristic for {channel}"
        )
    if uuid == CO2_UUID:
        if ppm is None or not 0 <= ppm <= 0xFFFF:
            raise DriverError(DriverErrorCode.INVALID_ARGUMENT, "CO2 must be 0-65535 ppm")
        return uuid, round(ppm).to_bytes(2, "little")
    raw = (
        SfloatSpecial.NAN.value if ppm is None else encode_sfloat(ppm_to_mg_m3(ppm, channel) / 1e6)
    )
    return uuid, raw.to_bytes(2, "little")


def missing_channels(
    required: Iterable[Channel], offered: Iterable[Channel] = ESS_CHANNELS
) -> list[Channel]:
    """Required channels the device cannot provide, in the order asked."""
    have = set(offered)
    return [ch for ch in required if ch not in have]


def check_capability(
    required: Iterable[Channel], offered: Iterable[Channel] = ESS_CHANNELS
) -> None:
    """Raise CHANNEL_NOT_SUPPORTED when an ESS device cannot cover the space (e.g. O2, H2S)."""
    missing = missing_channels(required, offered)
    if missing:
        raise CapabilityError(
            DriverErrorCode.CHANNEL_NOT_SUPPORTED,
            ", ".join(ch.value for ch in missing),
            missing=[ch.value for ch in missing],
        )
