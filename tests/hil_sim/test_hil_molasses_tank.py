"""Molasses tank, end to end: simulated detectors -> production drivers -> permit rules.

The tank's story is in ``hil_sim/scenarios/molasses-tank.toml``. Scenario time is
frozen (speed 0) and moved by the test, so a two-hour job runs in seconds.
"""

from __future__ import annotations

from hil_sim.runner import Simulation
from sensor_drivers import DriverErrorCode

from .hil import Recorder, atmosphere_test, live_reasons, sample_point, session_for


def _codes(verdict) -> set[tuple[str, str | None, str | None]]:  # type: ignore[no-untyped-def]
    return {(r.code, r.point, r.channel) for r in verdict.reasons}


async def test_pre_entry_bottom_fails_then_ventilation_lets_the_retest_pass() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-serial")) as rec:
            samples = [
                await sample_point(sim, rec, "gasl-serial", p) for p in ("top", "middle", "bottom")
            ]
            verdict = atmosphere_test(sim, "gasl-serial", samples)
            assert not verdict.acceptable
            # top and middle pass, the bottom fails on H2S: entry refused
            assert _codes(verdict) == {("TOXIC_HIGH", "bottom", "H2S")}
            assert rec.session.info is not None and rec.session.info.serial == "GASL-0A17"

            await sim.jump(1500 - sim.elapsed())  # ventilation has run 15 minutes
            samples = [
                await sample_point(sim, rec, "gasl-serial", p) for p in ("top", "middle", "bottom")
            ]
            verdict = atmosphere_test(sim, "gasl-serial", samples)
            assert verdict.acceptable, verdict.as_dict()


async def test_mid_job_h2s_rise_raises_the_alarm_on_the_ble_portable() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        await sim.jump(2300)  # working, ventilated, clean
        async with Recorder(session_for(sim, "gasl-ble")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            assert all(not live_reasons(r) for r in rec.readings())
            # the residue is stirred at 2400 s
            await rec.wait_for(
                lambda: any("TOXIC_HIGH" in live_reasons(r) for r in rec.readings()),
                sim,
                step_s=2,
                max_s=200,
            )
            alarm_at = sim.elapsed()
            assert 2400 < alarm_at < 2460
            alarm = next(r for r in rec.readings() if "TOXIC_HIGH" in live_reasons(r))
            assert alarm.channel.value == "H2S" and alarm.device_serial == "GASL-3C5E"
            assert rec.session.health.connected


async def test_link_drop_makes_the_stream_stale() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        await sim.jump(3580)
        async with Recorder(session_for(sim, "gasl-serial")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            assert not rec.issues("STALE_STREAM")
            # the cable is pulled at 3600 s; the stream must go stale, never "clean"
            await rec.wait_for(lambda: rec.issues("STALE_STREAM"), sim, max_s=60)
            assert 3605 <= sim.elapsed() <= 3612
            assert rec.session.health.stale
            # back after 5 minutes
            await sim.jump(3900 - sim.elapsed())
            seen = len(rec.readings())
            await rec.wait_for(lambda: len(rec.readings()) > seen, sim)
            assert not rec.session.health.stale


async def test_sensor_fault_fails_closed_on_the_modbus_transmitter() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        await sim.jump(4490)
        async with Recorder(session_for(sim, "gt4-bottom")) as rec:
            await rec.wait_for(lambda: rec.readings(), sim)
            assert all(r.trusted for r in rec.readings())
            await rec.wait_for(lambda: any(not r.trusted for r in rec.readings()), sim, max_s=30)
            faulty = [r for r in rec.readings() if not r.trusted]
            assert {live_reasons(r)[0] for r in faulty} == {"SENSOR_FAULT"}
            assert {r.device_serial for r in faulty} == {"GT4-2301"}


async def test_winsen_module_reads_the_bottom() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        async with Recorder(session_for(sim, "winsen-h2s")) as rec:
            await rec.wait_for(lambda: len(rec.readings()) >= 2, sim)
            assert "TOXIC_HIGH" in live_reasons(rec.readings()[-1])
            assert rec.error is None or rec.error.code is not DriverErrorCode.DETECTOR_LOST
