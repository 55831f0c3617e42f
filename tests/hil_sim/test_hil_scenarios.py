"""The other three shipped scenarios, end to end: the pre-entry test fails for the
scenario's hazard, ventilation clears it, and the fixed sensors agree."""

from __future__ import annotations

from hil_sim.runner import Simulation

from .hil import Recorder, atmosphere_test, live_reasons, sample_point, session_for

POINTS = ("top", "middle", "bottom")


def _codes(verdict) -> set[tuple[str, str | None, str | None]]:  # type: ignore[no-untyped-def]
    return {(r.code, r.point, r.channel) for r in verdict.reasons}


async def _pre_entry(sim: Simulation, rec: Recorder, detector: str):  # type: ignore[no-untyped-def]
    samples = [await sample_point(sim, rec, detector, p) for p in POINTS]
    return atmosphere_test(sim, detector, samples)


async def test_sewage_pit_methane_on_top_h2s_below() -> None:
    async with Simulation("sewage-pit", speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-pit")) as rec:
            verdict = await _pre_entry(sim, rec, "gasl-pit")
            assert _codes(verdict) == {
                ("FLAMMABLE_HIGH", "top", "LEL"),
                ("TOXIC_HIGH", "middle", "H2S"),
                ("TOXIC_HIGH", "bottom", "H2S"),
            }
            await sim.jump(1500 - sim.elapsed())
            assert (await _pre_entry(sim, rec, "gasl-pit")).acceptable
        # the Honeywell XNX map at the sump, read through the production Modbus driver
        await sim.jump(0)
        async with Recorder(session_for(sim, "xnx-h2s")) as xnx:
            await xnx.wait_for(lambda: xnx.readings(), sim)
            assert xnx.readings()[-1].device_serial == "XNX-55120"
            assert live_reasons(xnx.readings()[-1]) == []  # ventilated by now


async def test_sewage_pit_fixed_h2s_transmitter_alarms_before_ventilation() -> None:
    async with Simulation("sewage-pit", speed=0) as sim:
        async with Recorder(session_for(sim, "xnx-h2s")) as xnx:
            await xnx.wait_for(lambda: xnx.readings(), sim)
            assert "TOXIC_HIGH" in live_reasons(xnx.readings()[-1])


async def test_cement_silo_co_everywhere_and_low_oxygen_at_the_bottom() -> None:
    async with Simulation("cement-silo", speed=0) as sim:
        async with Recorder(session_for(sim, "gt4-silo")) as rec:
            verdict = await _pre_entry(sim, rec, "gt4-silo")
            assert _codes(verdict) == {
                ("TOXIC_HIGH", "top", "CO"),
                ("TOXIC_HIGH", "middle", "CO"),
                ("TOXIC_HIGH", "bottom", "CO"),
                ("O2_LOW", "bottom", "O2"),
            }
            await sim.jump(2700 - sim.elapsed())
            verdict = await _pre_entry(sim, rec, "gt4-silo")
            assert verdict.acceptable, verdict.as_dict()


async def test_nitrogen_purged_vessel_oxygen_deficiency() -> None:
    async with Simulation("nitrogen-purged-vessel", speed=0) as sim:
        async with Recorder(session_for(sim, "gasl-vessel")) as rec:
            verdict = await _pre_entry(sim, rec, "gasl-vessel")
            assert _codes(verdict) == {("O2_LOW", p, "O2") for p in POINTS}
            assert all((r.value or 0) < 10 for r in verdict.reasons)  # about 8.4 %VOL
            await sim.jump(1800 - sim.elapsed())
            verdict = await _pre_entry(sim, rec, "gasl-vessel")
            assert verdict.acceptable, verdict.as_dict()
        async with Recorder(session_for(sim, "winsen-o2")) as o2:
            await o2.wait_for(lambda: o2.readings(), sim)
            assert live_reasons(o2.readings()[-1]) == []
