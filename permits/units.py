"""Unit conversions between %VOL, ppm, mg/m³ and %LEL.

mg/m³ = ppm × MW / Vm with Vm the molar volume at 20 °C and 101.325 kPa
(24.055 L/mol, from ``data/gases.toml``). Chinese limits are stated at this
standard volume, so the conversion never uses the local pressure, even at
altitude. %VOL = %LEL × LEL / 100, with the LEL of the gas in %VOL; a reading's
own ``lel_vol`` wins over the table.
"""

from __future__ import annotations

from permits.errors import InvalidInput
from permits.gases import get_gas, molar_volume
from permits.i18n import gettext as _
from permits.readings import Unit

PPM_PER_VOL_PERCENT = 10_000.0  # definition of ppm and %: not a rule figure


def ppm_to_mg_m3(ppm: float, molecular_weight: float) -> float:
    return ppm * molecular_weight / molar_volume()


def mg_m3_to_ppm(mg_m3: float, molecular_weight: float) -> float:
    return mg_m3 * molar_volume() / molecular_weight


def vol_to_ppm(vol_percent: float) -> float:
    return vol_percent * PPM_PER_VOL_PERCENT


def ppm_to_vol(ppm: float) -> float:
    return ppm / PPM_PER_VOL_PERCENT


def lel_to_vol(lel_percent: float, lel_vol: float) -> float:
    return lel_percent * lel_vol / 100.0


def vol_to_lel(vol_percent: float, lel_vol: float) -> float:
    return vol_percent / lel_vol * 100.0


def lel_of(gas: str | None, lel_vol: float | None = None) -> float | None:
    """The LEL (%VOL) to use for ``gas``: the reading's own ``lel_vol`` wins."""
    if lel_vol is not None:
        return lel_vol
    if gas is None:
        return None
    entry = get_gas(gas)
    return entry.lel_vol if entry is not None else None


def to_ppm(
    value: float, unit: Unit, *, gas: str | None = None, lel_vol: float | None = None
) -> float:
    """``value`` in ``unit`` as ppm of ``gas``; InvalidInput when a needed fact is missing."""
    if unit is Unit.PPM:
        return value
    if unit is Unit.VOL:
        return vol_to_ppm(value)
    if unit is Unit.LEL:
        lel = lel_of(gas, lel_vol)
        if lel is None:
            raise InvalidInput("lel_vol", _("the gas's LEL to convert %LEL"), gas)
        return vol_to_ppm(lel_to_vol(value, lel))
    entry = get_gas(gas) if gas is not None else None
    if entry is None:
        raise InvalidInput("gas", _("a gas with a known molecular weight to convert mg/m3"), gas)
    return mg_m3_to_ppm(value, entry.molecular_weight)


def convert(
    value: float,
    from_unit: Unit,
    to_unit: Unit,
    *,
    gas: str | None = None,
    lel_vol: float | None = None,
) -> float:
    """Convert a concentration of ``gas`` between any two of the four units."""
    if from_unit is to_unit:
        return value
    ppm = to_ppm(value, from_unit, gas=gas, lel_vol=lel_vol)
    if to_unit is Unit.PPM:
        return ppm
    if to_unit is Unit.VOL:
        return ppm_to_vol(ppm)
    if to_unit is Unit.LEL:
        lel = lel_of(gas, lel_vol)
        if lel is None:
            raise InvalidInput("lel_vol", _("the gas's LEL to convert to %LEL"), gas)
        return vol_to_lel(ppm_to_vol(ppm), lel)
    entry = get_gas(gas) if gas is not None else None
    if entry is None:
        raise InvalidInput("gas", _("a gas with a known molecular weight to convert to mg/m3"), gas)
    return ppm_to_mg_m3(ppm, entry.molecular_weight)
