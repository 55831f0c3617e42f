"""The physics of the gas-field model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil_sim.gasfield import GasField, relative_density
from hil_sim.scenario import SamplePoint, Source, Space, VentilationStep, load_scenario

POINTS = [
    SamplePoint(name="top", height_m=5.0),
    SamplePoint(name="middle", height_m=3.0),
    SamplePoint(name="bottom", height_m=0.5),
]


def _space(**kw: float) -> Space:
    return Space(
        id="T",
        name="test tank",
        volume_m3=60,
        height_m=6,
        points=POINTS,
        required_channels=["O2", "H2S"],
        **kw,
    )


def test_ventilation_decays_as_exp_minus_ach_t() -> None:
    ach = 12.0
    field = GasField(
        _space(),
        ventilation=[VentilationStep(at_s=0, ach=ach)],
        initial_ppm={("H2S", "bottom"): 30.0, ("H2S", "middle"): 10.0, ("CO", "top"): 50.0},
    )
    start = field.inventory().copy()
    for minutes in (5, 10, 20, 30):
        field.advance_to(minutes * 60)
        expected = start * math.exp(-ach * minutes / 60)
        np.testing.assert_allclose(field.inventory(), expected, rtol=1e-9)


def test_single_zone_concentration_follows_the_exponential() -> None:
    space = Space(
        id="S",
        name="one zone",
        volume_m3=10,
        height_m=2,
        points=[SamplePoint(name="middle", height_m=1)],
        required_channels=["O2"],
    )
    field = GasField(
        space, ventilation=[VentilationStep(at_s=0, ach=6)], initial_ppm={("H2S", "middle"): 100}
    )
    field.advance_to(600)  # 10 min at 6 ACH: one e-folding
    assert field.ppm("middle", "H2S") == pytest.approx(100 * math.exp(-1), rel=1e-9)


def test_no_ventilation_no_decay() -> None:
    field = GasField(_space(), initial_ppm={("H2S", "middle"): 20.0})
    field.advance_to(3600)
    assert field.inventory()[0] == pytest.approx(20e-6 * 20, rel=1e-9)


def test_heavy_gas_sinks_light_gas_rises() -> None:
    assert relative_density("H2S") > 0
    assert relative_density("CO2") > 0
    assert relative_density("CH4") < 0
    field = GasField(
        _space(),
        sources=[
            Source(gas="H2S", rate_l_per_min=0.01, stratification="mixed"),
            Source(gas="CH4", rate_l_per_min=0.1, stratification="mixed"),
        ],
    )
    field.advance_to(2 * 3600)
    assert field.ppm("bottom", "H2S") > field.ppm("middle", "H2S") > field.ppm("top", "H2S")
    assert field.ppm("top", "CH4") > field.ppm("middle", "CH4") > field.ppm("bottom", "CH4")


def test_mixing_without_buoyancy_evens_out() -> None:
    field = GasField(_space(stratification_per_h=0), initial_ppm={("H2S", "bottom"): 30.0})
    field.advance_to(6 * 3600)
    for point in ("top", "middle", "bottom"):
        assert field.ppm(point, "H2S") == pytest.approx(10.0, rel=0.01)


def test_mass_balance_emitted_equals_held_plus_vented() -> None:
    field = GasField(
        _space(),
        sources=[
            Source(gas="H2S", rate_l_per_min=0.5, start_s=60, end_s=1260),
            Source(gas="CO2", rate_l_per_min=2.0),
        ],
        ventilation=[VentilationStep(at_s=0, ach=0), VentilationStep(at_s=600, ach=10)],
        initial_ppm={("H2S", "bottom"): 5.0},
    )
    field.advance_to(3000)
    held_plus_gone = field.inventory() + field.vented
    np.testing.assert_allclose(held_plus_gone, field.initial_amounts + field.emitted, rtol=1e-9)
    # The H2S source ran 20 minutes at 0.5 L/min: 10 L.
    assert field.emitted[field.gases.index("H2S")] == pytest.approx(0.010, rel=1e-9)


def test_nitrogen_displaces_oxygen() -> None:
    field = GasField(_space(), initial_ppm={("N2", p.name): 500_000 for p in POINTS})
    assert field.o2_vol("middle") == pytest.approx(20.9 * 0.5)
    assert field.o2_vol("top") < 19.5


def test_model_is_deterministic() -> None:
    scenario = load_scenario("molasses-tank")
    a, b = GasField.from_scenario(scenario), GasField.from_scenario(scenario)
    a.advance_to(2700)
    b.advance_to(1000)
    b.advance_to(2700)
    np.testing.assert_allclose(a.amounts, b.amounts, rtol=1e-12)


def test_molasses_tank_story() -> None:
    field = GasField.from_scenario(load_scenario("molasses-tank"))
    assert field.ppm("bottom", "H2S") > 7.1  # above the 10 mg/m3 MAC
    assert field.ppm("middle", "H2S") < 7.0
    field.advance_to(1500)
    assert all(field.ppm(p, "H2S") < 1.0 for p in ("top", "middle", "bottom"))
    field.advance_to(2700)
    assert field.ppm("bottom", "H2S") > 20
