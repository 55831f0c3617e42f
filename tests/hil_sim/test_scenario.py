"""Scenario files: the shipped ones load; a bad one is refused naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hil_sim.errors import ScenarioError, SimErrorCode
from hil_sim.scenario import SCENARIO_DIR, FaultKind, list_scenarios, load_scenario, parse_scenario


def _raw(name: str) -> dict:
    return tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8"))


def test_the_four_scenarios_ship_and_load() -> None:
    assert list_scenarios() == [
        "cement-silo",
        "molasses-tank",
        "nitrogen-purged-vessel",
        "sewage-pit",
    ]
    for name in list_scenarios():
        scenario = load_scenario(name)
        assert scenario.scenario.name == name
        assert {p.name for p in scenario.space.points} == {"top", "middle", "bottom"}


def test_molasses_tank_has_the_required_device_mix() -> None:
    s = load_scenario("molasses-tank")
    kinds = {(d.protocol, d.transport) for d in s.detectors}
    assert ("modbus-gt4", "pty") in kinds
    assert ("gasl", "pty") in kinds
    assert ("gasl", "ble") in kinds
    assert ("winsen-uart", "pty") in kinds
    assert any(src.gas == "H2S" for src in s.sources)


def test_bad_transport_names_the_key_and_the_choices() -> None:
    raw = _raw("molasses-tank")
    raw["detectors"][2]["transport"] = "usb"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    assert err.value.code is SimErrorCode.SCENARIO_INVALID
    assert ("detectors[2].transport", "expected one of pty, socket, ble") in err.value.problems
    assert "detectors[2].transport: expected one of pty, socket, ble" in str(err.value)


def test_every_problem_is_listed_not_only_the_first() -> None:
    raw = _raw("molasses-tank")
    raw["detectors"][0]["point"] = "roof"
    raw["faults"][0]["detector"] = "nobody"
    raw["space"]["volume_m3"] = -1
    raw["sources"][0]["colour"] = "green"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    paths = {p for p, _ in err.value.problems}
    assert {"space.volume_m3", "sources[0].colour"} <= paths
    # cross-reference checks run only once the fields themselves are valid
    raw = _raw("molasses-tank")
    raw["detectors"][0]["point"] = "roof"
    raw["faults"][0]["detector"] = "nobody"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    paths = {p for p, _ in err.value.problems}
    assert {"detectors[0].point", "faults[0].detector"} <= paths


def test_ble_carries_only_gasl() -> None:
    raw = _raw("molasses-tank")
    raw["detectors"][0]["transport"] = "ble"  # the Modbus transmitter
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    assert ("detectors[0].transport", "ble carries only the gasl protocol") in err.value.problems


def test_unknown_fault_kind_lists_every_kind() -> None:
    raw = _raw("molasses-tank")
    raw["faults"][0]["kind"] = "meteor"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    path, message = err.value.problems[0]
    assert path == "faults[0].kind"
    for kind in FaultKind:
        assert kind.value in message


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario("no-such-scenario")
    assert err.value.code is SimErrorCode.SCENARIO_NOT_FOUND
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname=", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert err.value.code is SimErrorCode.SCENARIO_SYNTAX
