"""mg/m³ ↔ ppm for the drivers, using the permit core's gas table
(``permits.gases``, figures in ``permits/data/gases.toml`` with their sources)."""

from __future__ import annotations

from permits import gases as _gases
from permits import units as _units
from permits.readings import Channel
from sensor_drivers.errors import CapabilityError, DriverErrorCode


def molecular_weight(channel: Channel) -> float:
    gas = _gases.get_gas(channel.value)
    if gas is None:
        raise CapabilityError(
            DriverErrorCode.CHANNEL_NOT_SUPPORTED,
            f"no molecular weight for {channel.value}",
            channel=channel.value,
        )
    return gas.molecular_weight


def mg_m3_to_ppm(mg_m3: float, channel: Channel) -> float:
    return _units.mg_m3_to_ppm(mg_m3, molecular_weight(channel))


def ppm_to_mg_m3(ppm: float, channel: Channel) -> float:
    return _units.ppm_to_mg_m3(ppm, molecular_weight(channel))
