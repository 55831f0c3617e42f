"""Molecular weights and unit conversion, read from ``data/gases.toml``."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from permits.readings import Channel
from sensor_drivers.errors import CapabilityError, DriverErrorCode

_DATA = Path(__file__).parent / "data" / "gases.toml"


@cache
def _table() -> tuple[float, dict[str, float]]:
    with _DATA.open("rb") as f:
        data = tomllib.load(f)
    return float(data["molar_volume_l_per_mol"]), {
        str(k): float(v) for k, v in data["molecular_weight"].items()
    }


def molar_volume() -> float:
    return _table()[0]


def molecular_weight(channel: Channel) -> float:
    try:
        return _table()[1][channel.value]
    except KeyError:
        raise CapabilityError(
            DriverErrorCode.CHANNEL_NOT_SUPPORTED,
            f"no molecular weight for {channel.value}",
            channel=channel.value,
        ) from None


def mg_m3_to_ppm(mg_m3: float, channel: Channel) -> float:
    return mg_m3 * molar_volume() / molecular_weight(channel)


def ppm_to_mg_m3(ppm: float, channel: Channel) -> float:
    return ppm * molecular_weight(channel) / molar_volume()
