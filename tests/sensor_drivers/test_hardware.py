"""Real detectors. Skipped by default; run with
``pytest -m hardware --hil-port=/dev/ttyUSB0 tests/sensor_drivers/test_hardware.py``
and the protocol in ``CSPERMIT_HIL_PROTOCOL`` (gasl, winsen-uart or modbus-gt4)."""

from __future__ import annotations

import asyncio
import os

import pytest

from permits.readings import Reading
from sensor_drivers import DetectorSession


@pytest.mark.hardware
def test_real_detector_gives_trusted_plausible_readings(request: pytest.FixtureRequest) -> None:
    port = request.config.getoption("--hil-port")
    if not port:
        pytest.fail("--hil-port is required for hardware tests")
    protocol = os.environ.get("CSPERMIT_HIL_PROTOCOL", "gasl")

    async def main() -> None:
        if protocol == "modbus-gt4":
            session = DetectorSession.modbus(port)
        else:
            session = DetectorSession.serial(port, protocol)
        async with session:
            readings = []
            async for event in session.events():
                if isinstance(event, Reading):
                    readings.append(event)
                if len(readings) >= 5:
                    break
            assert all(r.trusted for r in readings), readings
            assert session.health.corrupt_frames == 0

    asyncio.run(asyncio.wait_for(main(), 60))
