"""FOUND (left failing for the owner of hil_sim/devices/modbus.py): a simulated Modbus
transmitter whose battery has run flat keeps answering polls. ``DeviceModel.link_up``
says the device is down below ``DEAD_BATTERY_PCT``, and the gasl/Winsen streams honour
it (``DeviceOutput.online``), but ``ModbusDevice._on_request`` / ``_on_response`` drop
requests only for LINK_DROP and SILENCE faults. So the battery-drain fault on Modbus
never ends in DETECTOR_LOST (the tablet keeps showing the last values of a dead device).

Fix: in ``_on_request`` and ``_on_response`` treat ``not self.model.link_up(self._now())``
like SILENCE (drop the request / the answer)."""

from __future__ import annotations

import dataclasses

from tests.reliability.hil_matrix import CASES, run_case


async def test_flat_battery_modbus_detector_is_lost() -> None:
    case = next(c for c in CASES if c.name == "battery_drain")
    # 2 % per second: flat about 45 scenario seconds after the fault.
    case = dataclasses.replace(case, max_s=90, params={"rate": 7200.0})
    outcome = await run_case("modbus-gt4/pty", case)
    assert "LOW_BATTERY" in outcome.codes
    assert "DETECTOR_LOST" in outcome.codes or "STALE_STREAM" in outcome.codes, outcome
