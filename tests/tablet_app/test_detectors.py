"""Finding a detector on the settings screen: the simulator's detectors appear like
serial ports and BLE scan results, and the one picked streams readings (real ptys,
the simulator's BLE air, the production driver sessions)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tablet_app.detector_link import open_session
from tablet_app.presenters.detectors import DetectorFinder


def test_simulated_detectors_are_listed_and_the_picked_one_streams(tmp_path: Path) -> None:
    from hil_sim.runner import Simulation

    async def scenario() -> None:
        async with Simulation("molasses-tank", speed=0) as sim:
            lines = tmp_path / "sim.jsonl"
            lines.write_text(
                "\n".join(json.dumps(ep.as_json()) for ep in sim.endpoints.values())
                + '\n{"status": "running"}\nnot json\n',
                "utf-8",
            )
            finder = DetectorFinder(lines, ble_backend=sim.ble.scanner_backend)
            wired = finder.list_wired()
            gasl = next(f for f in wired if "GASL-0A17" in f.label)
            assert gasl.protocol == "gasl" and gasl.spec == sim.endpoint("gasl-serial").port
            assert any(f.protocol == "winsen-uart" for f in wired)
            ble = await finder.scan_ble(1.0)
            assert [f.spec for f in ble] == [f"ble:{sim.endpoint('gasl-ble').ble_address}"]
            assert finder.found[-1] == ble[0] and finder.message == ""
            session = open_session(
                gasl.spec,
                gasl.protocol,
                device_serial="GASL-0A17",
                clock=sim.elapsed,
                wall_clock=sim.now,
                tick_s=0.05,
            )
            try:
                await sim.advance(2, settle_s=0.05)
                reading = await asyncio.wait_for(anext(aiter(session)), 30)
                assert reading.device_serial == "GASL-0A17"
            finally:
                await session.close()

    asyncio.run(scenario())


def test_no_port_and_no_simulator_is_a_message(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CSPERMIT_SIM_ENDPOINTS", raising=False)
    finder = DetectorFinder(tmp_path / "absent.jsonl")
    found = finder.list_wired()
    assert all(not f.label.endswith("(simulated)") for f in found)
    assert bool(found) != bool(finder.message)
