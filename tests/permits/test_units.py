"""Unit conversions at 20 °C / 101.325 kPa, worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits import units
from permits.errors import InvalidInput
from permits.gases import get_gas, lel_table, molar_volume
from permits.readings import Unit


def test_molar_volume_is_data() -> None:
    assert molar_volume() == 24.055


@pytest.mark.parametrize(
    ("gas", "ppm", "mg_m3"),
    [
        ("H2S", 1.0, 34.08 / 24.055),  # 1.41675
        ("H2S", 7.0584, 10.0),  # the MAC in ppm
        ("CO", 50.0, 50 * 28.01 / 24.055),  # 58.22
        ("CO2", 5000.0, 5000 * 44.01 / 24.055),  # 9147.8
        ("Cl2", 1.0, 70.90 / 24.055),  # 2.947
    ],
)
def test_ppm_mg_m3(gas: str, ppm: float, mg_m3: float) -> None:
    assert units.convert(ppm, Unit.PPM, Unit.MG_M3, gas=gas) == pytest.approx(mg_m3, rel=1e-4)
    assert units.convert(mg_m3, Unit.MG_M3, Unit.PPM, gas=gas) == pytest.approx(ppm, rel=1e-4)


def test_standard_volume_even_at_altitude() -> None:
    # There is no pressure argument at all: the figure is the same in Lhasa.
    assert units.ppm_to_mg_m3(10, 34.08) == pytest.approx(14.1675, abs=1e-4)


def test_percent_lel_and_vol() -> None:
    assert units.convert(10, Unit.LEL, Unit.VOL, gas="CH4") == pytest.approx(0.5)
    assert units.convert(0.15, Unit.VOL, Unit.LEL, gas="C3H8") == pytest.approx(7.142857, rel=1e-6)
    assert units.convert(1, Unit.VOL, Unit.PPM) == 10_000
    assert units.convert(250, Unit.PPM, Unit.VOL) == 0.025
    # The reading's own LEL wins over the table.
    assert units.convert(10, Unit.LEL, Unit.VOL, gas="CH4", lel_vol=4.4) == pytest.approx(0.44)
    assert units.convert(10, Unit.LEL, Unit.VOL, lel_vol=2.0) == pytest.approx(0.2)


def test_conversion_without_the_facts_it_needs_is_refused() -> None:
    with pytest.raises(InvalidInput):
        units.convert(10, Unit.LEL, Unit.VOL)
    with pytest.raises(InvalidInput):
        units.convert(10, Unit.PPM, Unit.MG_M3)
    with pytest.raises(InvalidInput):
        units.convert(10, Unit.PPM, Unit.LEL, gas="CO2")


def test_lel_table_matches_rules() -> None:
    assert lel_table() == {
        "CH4": 5.0,
        "H2": 4.0,
        "C3H8": 2.1,
        "C2H5OH": 3.3,
        "H2S": 4.0,
        "CO": 12.5,
        "NH3": 15.0,
    }


def test_gas_limits_match_rules() -> None:
    h2s, co, cl2 = get_gas("H2S"), get_gas("CO"), get_gas("Cl2")
    assert h2s is not None and co is not None and cl2 is not None
    assert (h2s.mac_mg_m3, h2s.osha_pel_ppm, h2s.osha_pel_ceiling) == (10.0, 20.0, True)
    assert (co.mac_mg_m3, co.pc_twa_mg_m3, co.pc_stel_mg_m3, co.osha_pel_ppm) == (
        None,
        20.0,
        30.0,
        50.0,
    )
    assert h2s.toxic and h2s.flammable and co.toxic and co.flammable
    assert cl2.toxic and not cl2.flammable


_GASES = st.sampled_from(["CH4", "H2", "C3H8", "H2S", "CO", "NH3"])
_UNITS = st.sampled_from(list(Unit))


@given(
    value=st.floats(min_value=0, max_value=1e5, allow_nan=False),
    gas=_GASES,
    a=_UNITS,
    b=_UNITS,
)
def test_round_trip(value: float, gas: str, a: Unit, b: Unit) -> None:
    there = units.convert(value, a, b, gas=gas)
    back = units.convert(there, b, a, gas=gas)
    assert back == pytest.approx(value, rel=1e-9, abs=1e-9)
