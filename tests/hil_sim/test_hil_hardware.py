"""Real-hardware variants of the HIL tests. Skipped by default; run with::

    pytest -m hardware --hil-port=/dev/ttyUSB0 tests/hil_sim/test_hil_hardware.py

``CSPERMIT_HIL_PROTOCOL``: gasl (default), winsen-uart or modbus-gt4 (then
``CSPERMIT_HIL_SLAVE``, default 1). Keep the detector in fresh air unless a test
says otherwise. Operator-driven tests run only when their variable is set:

* ``CSPERMIT_HIL_SIM_PORT=/dev/ttyUSB1``: the other end of a null-modem cable from
  ``--hil-port``; the simulator's molasses tank runs through two real UARTs.
* ``CSPERMIT_HIL_BUMP=1``: apply bump gas (H2S or CO above its limit) when asked.
* ``CSPERMIT_HIL_UNPLUG=1``: pull the detector's cable when asked.

Real time here (the detector's own pace): these tests take up to a few minutes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from hil_sim.runner import Simulation
from permits.monitoring import assess_live
from permits.readings import Channel, Reading
from sensor_drivers import DetectorSession, DriverError

from .hil import PROFILE, Recorder, atmosphere_test

pytestmark = pytest.mark.hardware

GAS_CODES = {"O2_LOW", "O2_HIGH", "FLAMMABLE_HIGH", "TOXIC_HIGH", "SENSOR_FAULT"}


@pytest.fixture
def port(request: pytest.FixtureRequest) -> str:
    value = request.config.getoption("--hil-port")
    if not value:
        pytest.fail("--hil-port is required for hardware tests")
    return str(value)


def real_session(port: str) -> DetectorSession:
    protocol = os.environ.get("CSPERMIT_HIL_PROTOCOL", "gasl")
    if protocol == "modbus-gt4":
        return DetectorSession.modbus(port, slave=int(os.environ.get("CSPERMIT_HIL_SLAVE", "1")))
    return DetectorSession.serial(port, protocol)


def _need(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"operator-driven: set {variable} to run it (see the module docstring)")
    return value


async def _until(predicate: Callable[[], Any], timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"not reached within {timeout_s} s")
        await asyncio.sleep(0.2)


def _window(readings: list[Reading]) -> dict[Channel, list[Reading]]:
    out: dict[Channel, list[Reading]] = {}
    for r in readings:
        out.setdefault(r.channel, []).append(r)
    return out


async def test_real_detector_fresh_air_gives_no_gas_or_fault_reason(port: str) -> None:
    async with Recorder(real_session(port)) as rec:
        await _until(lambda: len(rec.readings()) >= 8, 60)
        readings = rec.readings()
    from datetime import UTC, datetime

    assessment = assess_live(_window(readings), PROFILE, datetime.now(UTC))
    codes = {a.code for a in assessment.alarms}
    assert not codes & (GAS_CODES | {"STREAM_STALE"}), assessment.as_dict()


async def test_real_detector_bump_gas_raises_the_alarm(port: str) -> None:
    _need("CSPERMIT_HIL_BUMP")
    from datetime import UTC, datetime

    async with Recorder(real_session(port)) as rec:
        await _until(lambda: rec.readings(), 60)
        print("\n>>> apply bump gas now")
        await _until(
            lambda: assess_live(_window(rec.readings()), PROFILE, datetime.now(UTC)).evacuate, 120
        )


async def test_real_detector_unplugged_goes_stale_or_lost(port: str) -> None:
    _need("CSPERMIT_HIL_UNPLUG")
    async with Recorder(real_session(port)) as rec:
        await _until(lambda: rec.readings(), 60)
        print("\n>>> pull the detector's cable now")
        await _until(lambda: rec.issues("STALE_STREAM") or rec.error is not None, 120)
        assert rec.error is None or isinstance(rec.error, DriverError)


async def test_simulated_tank_through_real_uarts(port: str) -> None:
    sim_port = _need("CSPERMIT_HIL_SIM_PORT")
    async with Simulation("molasses-tank", speed=1, ports={"gasl-serial": sim_port}) as sim:
        session = DetectorSession.serial(port, "gasl", clock=sim.elapsed, wall_clock=sim.now)
        async with Recorder(session) as rec:
            samples = []
            for point in ("top", "middle", "bottom"):
                sim.move("gasl-serial", point)
                since = sim.now()
                await _until(lambda since=since: len(rec.readings(since=since)) >= 2, 30)
                latest = {r.channel: r for r in rec.readings(since=since)}
                samples.append(
                    {
                        "point": point,
                        "taken_at": sim.now().isoformat(),
                        "readings": [
                            {"channel": r.channel.value, "value": r.value, "unit": r.unit.value}
                            | ({"gas": r.gas} if r.gas else {})
                            for r in latest.values()
                        ],
                    }
                )
        verdict = atmosphere_test(sim, "gasl-serial", samples)
        assert {(r.code, r.point) for r in verdict.reasons} == {("TOXIC_HIGH", "bottom")}
