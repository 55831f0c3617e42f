"""The molasses tank through the whole permit chain: simulated detectors, production
drivers, the atmosphere rules, live monitoring and the entry interlock.

The permit is the example permit of ``cspermit.demo.molasses_tank`` (sugar mill, two
entrants), prepared up to the atmosphere test; the tests, monitoring and alarms
come from the simulator through the drivers, on scenario time.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cspermit.demo import molasses_tank as demo
from hil_sim.runner import Simulation
from permits.commands import PermitSession
from permits.errors import RuleViolation
from permits.events import (
    AlarmKind,
    AlarmRaised,
    AtmosphereTestRecorded,
    DetectorIdentity,
    EntrantEntered,
    EntrantExited,
    MonitoringSnapshot,
    MonitoringStarted,
)
from permits.integrity import DeviceKey
from permits.interlock import entry_unmet
from permits.state import Status

from .hil import Recorder, atmosphere_test_data, live, sample_point, session_for

ENTRANTS = (demo.ENTRANT_A, demo.ENTRANT_B)
POINTS = ("top", "middle", "bottom")
KINDS = {
    "TOXIC_HIGH": AlarmKind.GAS,
    "O2_LOW": AlarmKind.GAS,
    "FLAMMABLE_HIGH": AlarmKind.GAS,
    "STREAM_STALE": AlarmKind.STALE_STREAM,
    "SENSOR_FAULT": AlarmKind.SENSOR_FAULT,
}


def identity(sim: Simulation, detector_id: str) -> DetectorIdentity:
    spec = sim.model(detector_id).spec
    return DetectorIdentity(
        serial=spec.serial,
        model=spec.model,
        calibration_due=spec.calibration_due,
        last_bump_test=spec.last_bump,
    )


def prepared_permit(sim: Simulation) -> PermitSession:
    """Everything but the gas test, done in the 50 minutes before the scenario starts."""
    return demo.ready_to_enter(
        DeviceKey.generate("TAB-HIL-01"),
        sim.clock.start - timedelta(minutes=50),
        skip=("test", "readings", "monitoring"),
    )


async def record_pre_entry_test(sim: Simulation, permit: PermitSession, rec: Recorder) -> None:
    samples = [await sample_point(sim, rec, "gasl-serial", p) for p in POINTS]
    permit.record(
        AtmosphereTestRecorded(
            test=atmosphere_test_data(sim, "gasl-serial", samples),
            detector=identity(sim, "gasl-serial"),
            source="driver",
            tested_by=demo.GUARDIAN,
        ),
        sim.now(),
        actor=demo.GUARDIAN,
    )


def snapshot(sim: Simulation, rec: Recorder, detector_id: str) -> MonitoringSnapshot:
    readings = rec.readings()
    return MonitoringSnapshot(
        detector_serial=sim.model(detector_id).spec.serial,
        last_reading_at=readings[-1].received_at,
        acceptable=not live(sim, rec, detector_id).evacuate,
    )


async def enter_all(sim: Simulation, permit: PermitSession, monitor: Recorder, det: str) -> None:
    demo.confirm_readings(permit, sim.now(), ENTRANTS)
    permit.record(
        MonitoringStarted(
            detector=identity(sim, det),
            channels=tuple(c.channel.value for c in sim.model(det).spec.channels),
            sample_point=sim.model(det).point,
        ),
        sim.now(),
        actor=demo.GUARDIAN,
    )
    await monitor.wait_for(lambda: monitor.readings(), sim)
    for entrant in ENTRANTS:
        permit.record(
            EntrantEntered(entrant_id=entrant, monitoring=snapshot(sim, monitor, det)),
            sim.now(),
            actor=demo.GUARDIAN,
        )
    assert permit.state.status is Status.ACTIVE
    assert set(permit.state.inside) == set(ENTRANTS)


async def alarm_until_evacuation(
    sim: Simulation, permit: PermitSession, monitor: Recorder, det: str, *, max_s: float = 120
) -> str:
    """The guardian's loop: assess every second; the first alarm is recorded."""
    since = sim.now()
    await monitor.wait_for(lambda: monitor.readings(since=since), sim)
    assert not live(sim, monitor, det).evacuate  # the job starts in clean air
    await monitor.wait_for(lambda: live(sim, monitor, det).evacuate, sim, max_s=max_s)
    reason = live(sim, monitor, det).alarms[0]
    permit.record(
        AlarmRaised(
            alarm_id="A-1",
            kind=KINDS[reason.code],
            channel=reason.channel,
            point=reason.point,
            value=reason.value,
            limit=reason.limit,
            unit=reason.unit,
        ),
        sim.now(),
        actor=demo.GUARDIAN,
    )
    return reason.code


async def test_entry_refused_until_ventilated_then_h2s_burst_forces_evacuation() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        permit = prepared_permit(sim)
        async with Recorder(session_for(sim, "gasl-serial")) as portable:
            await record_pre_entry_test(sim, permit, portable)
            assert not permit.state.latest_test.acceptable
            codes = {u.code for u in entry_unmet(permit.state, demo.ENTRANT_A, sim.now())}
            assert "ATMOSPHERE_TEST_FAILED" in codes
            with pytest.raises(RuleViolation) as refused:
                permit.record(
                    EntrantEntered(entrant_id=demo.ENTRANT_A), sim.now(), actor=demo.GUARDIAN
                )
            assert "ATMOSPHERE_TEST_FAILED" in {u.code for u in refused.value.unmet}

            await sim.jump(1500 - sim.elapsed())  # 15 minutes of forced ventilation
            await record_pre_entry_test(sim, permit, portable)
            assert permit.state.latest_test.acceptable, permit.state.latest_test.reasons

        async with Recorder(session_for(sim, "gasl-ble")) as monitor:
            await enter_all(sim, permit, monitor, "gasl-ble")
            await sim.jump(2390 - sim.elapsed())
            code = await alarm_until_evacuation(sim, permit, monitor, "gasl-ble")
        assert code == "TOXIC_HIGH"
        assert 2400 < sim.elapsed() < 2460
        assert permit.state.status is Status.EVACUATING
        with pytest.raises(RuleViolation) as refused:
            permit.record(EntrantEntered(entrant_id=demo.ENTRANT_A), sim.now(), actor=demo.GUARDIAN)
        assert "ALARM_ACTIVE" in {u.code for u in refused.value.unmet}
        for entrant in ENTRANTS:  # everyone gets out, always accepted
            permit.record(EntrantExited(entrant_id=entrant), sim.now(), actor=demo.GUARDIAN)
        assert not permit.state.inside


@pytest.mark.parametrize(
    ("detector", "start_s", "expected"),
    [
        ("gasl-serial", 3540, "STREAM_STALE"),  # its cable is pulled at 3600 s
        ("gt4-bottom", 4440, "SENSOR_FAULT"),  # its sensor fails at 4500 s
    ],
)
async def test_monitoring_loss_forces_evacuation(
    detector: str, start_s: float, expected: str
) -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        permit = prepared_permit(sim)
        await sim.jump(start_s)
        async with Recorder(session_for(sim, "gasl-serial")) as portable:
            await record_pre_entry_test(sim, permit, portable)
        assert permit.state.latest_test.acceptable
        sim.move("gasl-serial", "bottom")
        async with Recorder(session_for(sim, detector)) as monitor:
            await enter_all(sim, permit, monitor, detector)
            code = await alarm_until_evacuation(sim, permit, monitor, detector, max_s=120)
        assert code == expected
        assert permit.state.status is Status.EVACUATING
