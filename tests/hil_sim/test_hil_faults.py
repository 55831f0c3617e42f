"""Every fault on the timeline, on at least one protocol, ends in the safe state with
the right reason code — through the production sessions and rules, unchanged."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from hil_sim.runner import Simulation
from hil_sim.scenario import FaultKind
from permits.readings import Channel, StatusFlag
from sensor_drivers import DriverErrorCode

from .conftest import scenario_with
from .hil import Recorder, atmosphere_test, live_reasons, sample_point, session_for


def _fault(detector: str, kind: str, at_s: float = 5, **kw: Any) -> dict[str, Any]:
    return {"detector": detector, "kind": kind, "at_s": at_s, **kw}


def _with_detector_changes(name: str, detector: str, faults: list[dict], **changes: Any):  # type: ignore[no-untyped-def]
    scenario = scenario_with(name, faults=faults)
    detectors = [
        d.model_copy(update=changes) if d.id == detector else d for d in scenario.detectors
    ]
    return scenario.model_copy(update={"detectors": detectors})


# --- link faults ---------------------------------------------------------------------


async def test_silence_on_gasl_socket_goes_stale() -> None:
    scenario = scenario_with(
        "sewage-pit", faults=[_fault("gasl-pit", "silence", 10, duration_s=60)]
    )
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-pit")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            await rec.wait_for(lambda: rec.issues("STALE_STREAM"), sim, max_s=30)
            assert 15 <= sim.elapsed() <= 18  # 5 s stale limit after the last frame at 9-10 s
            assert rec.session.health.stale


async def test_silence_on_modbus_ends_in_detector_lost() -> None:
    scenario = scenario_with("cement-silo", faults=[_fault("gt4-silo", "silence", 10)])
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gt4-silo")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            await rec.wait_for(lambda: rec.error is not None, sim, max_s=100, settle_s=0.2)
            assert rec.error is not None and rec.error.code is DriverErrorCode.DETECTOR_LOST
            assert rec.session.health.errors.get("TIMEOUT", 0) >= 1


async def test_ble_link_drop_ends_in_detector_lost_after_reconnects() -> None:
    scenario = scenario_with(
        "nitrogen-purged-vessel", faults=[_fault("gasl-vessel", "link_drop", 10, duration_s=600)]
    )
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-vessel")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            await rec.wait_for(lambda: rec.error is not None, sim, max_s=100, settle_s=0.2)
            assert rec.error is not None and rec.error.code is DriverErrorCode.DETECTOR_LOST
            assert not rec.session.health.connected


async def test_garbage_bytes_are_skipped_and_values_stay_true() -> None:
    # sewage-pit ships 40 noise bytes before every line from 1200 s to 1260 s
    async with Simulation("sewage-pit", speed=0) as sim:
        assert [f.kind.value for f in sim.model("gasl-pit").faults] == ["garbage"]
        await sim.jump(1195)
        async with Recorder(session_for(sim, "gasl-pit")) as rec:
            await sim.advance(20)
            await rec.wait_for(lambda: rec.session.health.noise_bytes >= 40 * 10, sim)
            health = rec.session.health
            assert health.corrupt_frames == 0 and not health.stale
            lel = [r for r in rec.readings() if r.channel is Channel.LEL]
            assert lel and all(r.trusted for r in lel)
            assert lel[-1].value == pytest.approx(sim.truth("top", "LEL", "%LEL"), abs=1)


async def test_crc_errors_on_modbus_never_give_a_value() -> None:
    # cement-silo ships 60 s of corrupted CRCs on the transmitter from 1800 s
    async with Simulation("cement-silo", speed=0) as sim:
        await sim.jump(1790)
        async with Recorder(
            session_for(
                sim,
                "gt4-silo",
            )
        ) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            before = len(rec.readings())
            await rec.wait_for(
                lambda: rec.error is not None or rec.issues("STALE_STREAM"),
                sim,
                max_s=40,
                settle_s=0.1,
            )
            assert rec.session.health.errors.get("BAD_RESPONSE", 0) >= 1
            during = [
                r
                for r in rec.readings()[before:]
                if r.received_at is not None
                and r.received_at >= sim.clock.start + timedelta(seconds=1801)
            ]
            assert during == []
            assert rec.error is None or rec.error.code is DriverErrorCode.DETECTOR_LOST


async def test_checksum_errors_on_gasl_are_counted_and_the_stream_goes_stale() -> None:
    scenario = scenario_with("molasses-tank", faults=[_fault("gasl-serial", "crc_error", 10)])
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-serial")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            # The session checks staleness on every pass, so bad lines back to back
            # cannot starve it (tests/sensor_drivers/test_session_stale.py).
            await rec.wait_for(lambda: rec.issues("STALE_STREAM"), sim, max_s=30, settle_s=0.1)
            assert rec.session.health.stale
            assert rec.session.health.corrupt_frames >= 4
            assert rec.session.health.errors.get("BAD_CHECKSUM", 0) >= 4


async def test_checksum_errors_on_winsen_are_skipped_and_the_stream_goes_stale() -> None:
    scenario = scenario_with("molasses-tank", faults=[_fault("winsen-h2s", "crc_error", 10)])
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "winsen-h2s")) as rec:
            await rec.wait_for(lambda: sim.elapsed() >= 10, sim)
            # every good frame sent so far has become a reading (one channel each)
            await rec.until(lambda: len(rec.readings()) >= sim.frames_sent("winsen-h2s"))
            seen = len(rec.readings())
            assert seen >= 8
            await rec.wait_for(lambda: rec.issues("STALE_STREAM"), sim, max_s=30)
            # the winsen decoder hunts past a bad frame byte by byte: counted, never used
            health = rec.session.health
            assert health.corrupt_frames + health.noise_bytes >= 4 * 9
            assert len(rec.readings()) == seen


# --- sensor faults -------------------------------------------------------------------


async def test_sensor_fault_flag_fails_the_pre_entry_test() -> None:
    scenario = scenario_with(
        "nitrogen-purged-vessel", faults=[_fault("gasl-vessel", "sensor_fault", 0)]
    )
    async with Simulation(scenario, speed=0) as sim:
        await sim.jump(1800)  # ventilated: the air itself is fine
        async with Recorder(session_for(sim, "gasl-vessel")) as rec:
            samples = [
                await sample_point(sim, rec, "gasl-vessel", p) for p in ("top", "middle", "bottom")
            ]
        verdict = atmosphere_test(sim, "gasl-vessel", samples)
        assert not verdict.acceptable
        assert {r.code for r in verdict.reasons} == {"SENSOR_FAULT"}


async def test_warmup_after_power_cycle_fails_closed_and_restarts_the_sequence() -> None:
    scenario = scenario_with(
        "molasses-tank", faults=[_fault("gasl-serial", "warmup", 20, duration_s=60)]
    )
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-serial")) as rec:
            await rec.wait_for(lambda: len(rec.readings()) >= 4, sim)
            await rec.wait_for(
                lambda: any(StatusFlag.WARMUP in r.status for r in rec.readings()), sim, max_s=40
            )
            warm = [r for r in rec.readings() if StatusFlag.WARMUP in r.status]
            assert all(live_reasons(r) == ["SENSOR_FAULT"] for r in warm)
            assert rec.session.health.seq_gaps + rec.session.source.stats.restarts >= 1
            assert min(r.device_time_ms or 0 for r in warm) < 2000  # uptime restarted


async def test_downward_drift_below_zero_becomes_an_implausible_value_fault() -> None:
    scenario = scenario_with(
        "molasses-tank",
        faults=[_fault("gasl-serial", "drift", 0, channel="CO", rate=-3600.0)],  # -1 ppm/s
    )
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-serial")) as rec:
            await rec.wait_for(lambda: rec.issues("IMPLAUSIBLE_VALUE"), sim, max_s=30)
            bad = [r for r in rec.readings() if r.channel is Channel.CO and not r.trusted]
            assert bad and live_reasons(bad[-1]) == ["SENSOR_FAULT"]


async def test_upward_drift_alarms_rather_than_hiding() -> None:
    # cement-silo ships a CO module drifting +40 ppm/h from 2400 s
    async with Simulation("cement-silo", speed=0) as sim:
        await sim.jump(5000)
        async with Recorder(session_for(sim, "winsen-co")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            reading = rec.readings()[-1]
            truth = sim.truth("bottom", "CO", "ppm")
            assert reading.value > truth + 20  # the module over-reads by about 29 ppm
            assert "TOXIC_HIGH" in live_reasons(reading)


async def test_stuck_value_is_reported() -> None:
    faults = [_fault("gasl-ble", "stuck", 600, channel="O2")]
    control = _with_detector_changes("molasses-tank", "gasl-ble", [], noise=0.003)
    stuck = _with_detector_changes("molasses-tank", "gasl-ble", faults, noise=0.003)
    found = {}
    for label, scenario in (("control", control), ("stuck", stuck)):
        async with Simulation(scenario, speed=0) as sim:
            await sim.jump(590)
            async with Recorder(session_for(sim, "gasl-ble")) as rec:
                await sim.advance(420, step_s=5)
                found[label] = [i.channel for i in rec.issues("STUCK_VALUE")]
    assert found["control"] == []
    assert found["stuck"] == [Channel.O2]


async def test_battery_drain_warns_then_the_dead_detector_is_lost() -> None:
    scenario = scenario_with(
        "nitrogen-purged-vessel",
        faults=[_fault("gasl-vessel", "battery_drain", 10, rate=3600.0)],  # 1 % per second
    )
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-vessel")) as rec:
            await rec.wait_for(lambda: rec.issues("LOW_BATTERY"), sim, step_s=2, max_s=120)
            assert 84 <= sim.elapsed() <= 92  # 90 % - 1 %/s crosses 15 % at 85 s
            await rec.wait_for(lambda: rec.error is not None, sim, step_s=2, max_s=60, settle_s=0.2)
            assert rec.error is not None and rec.error.code is DriverErrorCode.DETECTOR_LOST


async def test_device_clock_skew_cannot_make_an_old_test_look_fresh() -> None:
    scenario = scenario_with(
        "nitrogen-purged-vessel",
        faults=[_fault("winsen-o2", "clock_skew", 0, offset_s=-3600.0)],
    )
    scenario = _with_detector_changes(
        "nitrogen-purged-vessel",
        "gasl-vessel",
        [_fault("gasl-vessel", "clock_skew", 0, offset_s=86400.0, rate=0.5)],
    )
    async with Simulation(scenario, speed=0) as sim:
        await sim.jump(1800)
        async with Recorder(session_for(sim, "gasl-vessel")) as rec:
            samples = [
                await sample_point(sim, rec, "gasl-vessel", p) for p in ("top", "middle", "bottom")
            ]
            reading = rec.readings()[-1]
        # the device believes it has been up for over a day; the host clock stamps the reading
        assert (reading.device_time_ms or 0) > 86_400_000
        assert reading.received_at is not None
        assert abs((reading.received_at - sim.now()).total_seconds()) <= 5
        assert atmosphere_test(sim, "gasl-vessel", samples).acceptable
        await sim.jump(31 * 60)  # entry 31 minutes later: the test is too old, skew or not
        verdict = atmosphere_test(sim, "gasl-vessel", samples)
        assert {r.code for r in verdict.reasons} == {"TEST_TOO_OLD"}


def test_every_fault_kind_has_a_test_here() -> None:
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    for kind in FaultKind:
        assert f'"{kind.value}"' in source, kind


async def test_link_drop_on_a_modbus_line_ends_in_detector_lost() -> None:
    scenario = scenario_with(
        "molasses-tank", faults=[_fault("gt4-bottom", "link_drop", 10, duration_s=600)]
    )
    async with Simulation(scenario, speed=0) as sim:
        async with Recorder(session_for(sim, "gt4-bottom")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            await rec.wait_for(lambda: rec.error is not None, sim, max_s=100, settle_s=0.2)
            assert rec.error is not None and rec.error.code is DriverErrorCode.DETECTOR_LOST
            last = rec.readings()[-1].received_at
            assert last is not None and last < sim.clock.start + timedelta(seconds=11)


async def test_link_drop_closes_socket_connections_and_refuses_new_ones() -> None:
    scenario = scenario_with(
        "sewage-pit", faults=[_fault("gasl-pit", "link_drop", 5, duration_s=20)]
    )
    async with Simulation(scenario, speed=0) as sim:
        host, port = sim.endpoint("gasl-pit").port.removeprefix("socket://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            await sim.advance(3)
            assert await reader.readuntil(b"\n")
            await sim.advance(5)  # the link drops at 5 s
            rest = await asyncio.wait_for(reader.read(), 2.0)  # read to EOF: closed by the device
            assert reader.at_eof()
            assert rest.count(b"\n") <= 3
        finally:
            writer.close()
            await writer.wait_closed()
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            assert await asyncio.wait_for(reader.read(), 2.0) == b""  # refused while down
        finally:
            writer.close()
            await writer.wait_closed()
        await sim.advance(20)  # back up
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            await sim.advance(2)
            assert (await asyncio.wait_for(reader.readuntil(b"\n"), 2.0)).startswith(b"$GASL")
        finally:
            writer.close()
            await writer.wait_closed()
