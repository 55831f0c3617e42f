"""Hot work at a sewage pit's cover while a worker is inside the pit: a flammable
release seen by the simulated detector suspends the hot work at once and evacuates
the linked confined space (docs/rules.md, Hot work).

The gas analysis before the fire comes from the simulator through the production
driver; the alarm is the production live assessment of the same stream.
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from cspermit.demo import molasses_tank as demo
from hil_sim.runner import Simulation
from permits.errors import RuleViolation
from permits.events import (
    AlarmKind,
    AlarmRaised,
    AtmosphereTestRecorded,
    DetectorIdentity,
    EntrantEntered,
    SignOffMeaning,
)
from permits.hot_work import HotWorkStatus, alarm_concerns
from permits.hot_work.events import (
    FirePoint,
    HotWorkAlarmRaised,
    HotWorkFireStarted,
    HotWorkGasAnalysed,
    HotWorkGasReading,
    HotWorkResumed,
    LinkedPermitSnapshot,
)
from permits.integrity import DeviceKey
from permits.state import Status
from tests.permits.test_hot_work import approval, rostered_session

from .conftest import scenario_with
from .hil import Recorder, atmosphere_test_data, live, sample_point, session_for

CST = timezone(timedelta(hours=8))
SPACE = "WW-P01"  # the sewage pit of the scenario
# The detector hangs under the pit cover, 3 m from the fire point on the site plan.
DETECTOR_AT = (3.0, 0.0, 0.0)
FIRE_POINT = FirePoint(point_id="FP-COVER", location="pit cover frame", x=0, y=0, z=0)


def release_scenario() -> object:
    # Clean, ventilated air, then methane pours in under the cover from 300 s.
    return scenario_with(
        "sewage-pit",
        initial=[],
        sources=[{"gas": "CH4", "rate_l_per_min": 200.0, "start_s": 300, "point": "top"}],
        ventilation=[{"at_s": 0, "ach": 30.0}],
        faults=[],
    )


async def test_a_flammable_release_suspends_the_hot_work_and_evacuates_the_space() -> None:
    async with Simulation(release_scenario(), speed=0) as sim:  # type: ignore[arg-type]
        start = sim.now().astimezone(CST)
        # The confined-space permit for the pit: everything but the gas test done before.
        pit = demo.ready_to_enter(
            DeviceKey.generate("TAB-PIT"),
            start - timedelta(minutes=50),
            permit_id="CS-PIT",
            space_snapshot=demo.space(space_id=SPACE),
            skip=("test", "readings", "monitoring"),
        )
        hot = rostered_session(
            DeviceKey.generate("TAB-HOT"),
            start=start,
            fire_points=(FIRE_POINT,),
            linked_permit_id="CS-PIT",
            linked_space_id=SPACE,
        )
        hot.record(
            approval(hot, start - timedelta(minutes=40)),
            start - timedelta(minutes=40),
            actor="P-SAFE",
        )
        spec = sim.model("gasl-pit").spec
        detector = DetectorIdentity(
            serial=spec.serial, calibration_due=spec.calibration_due, last_bump_test=spec.last_bump
        )
        async with Recorder(session_for(sim, "gasl-pit")) as monitor:
            # The pit's own test, bottom to top: the probe ends under the cover.
            samples = [
                await sample_point(sim, monitor, "gasl-pit", p) for p in ("bottom", "middle", "top")
            ]
            pit.record(
                AtmosphereTestRecorded(
                    test=atmosphere_test_data(sim, "gasl-pit", samples),
                    detector=detector,
                    source="driver",
                    tested_by=demo.GUARDIAN,
                ),
                sim.now(),
                actor=demo.GUARDIAN,
            )
            demo.confirm_readings(pit, sim.now(), (demo.ENTRANT_A, demo.ENTRANT_B))
            pit.record(EntrantEntered(entrant_id=demo.ENTRANT_A), sim.now(), actor=demo.GUARDIAN)
            assert pit.state.status is Status.ACTIVE
            sample = samples[-1]
            hot.record(
                HotWorkGasAnalysed(
                    fire_point_id="FP-COVER",
                    sampled_at=sim.now(),
                    distance_m=3.0,
                    readings=tuple(
                        HotWorkGasReading(
                            channel=r["channel"],
                            value=r["value"],
                            unit=r["unit"],
                            status=tuple(r["status"]),
                        )
                        for r in sample["readings"]
                        if r["unit"] != "mg/m3"
                    ),
                    detector=DetectorIdentity(
                        serial=spec.serial, calibration_due=spec.calibration_due
                    ),
                    analysed_by="P-GAS",
                ),
                sim.now(),
                actor="P-GAS",
            )
            assert hot.state.status is HotWorkStatus.GAS_OK, hot.state.analyses
            at = sim.now()
            linked = LinkedPermitSnapshot(
                permit_id="CS-PIT",
                status=pit.state.status_at(at).value,
                seq=pit.state.seq,
                head_hash=pit.state.head_hash,
                space_id=SPACE,
            )
            hot.record(
                HotWorkFireStarted(
                    watcher=hot.signoff("P-WATCH", SignOffMeaning.GUARD, at), linked=linked
                ),
                at,
                actor="P-WELD",
            )
            assert hot.state.status is HotWorkStatus.ACTIVE

            # The guardian's loop: assess every second until the stream says evacuate.
            await monitor.wait_for(lambda: live(sim, monitor, "gasl-pit").evacuate, sim, max_s=600)
            reason = live(sim, monitor, "gasl-pit").alarms[0]
        assert reason.code == "FLAMMABLE_HIGH"
        assert sim.elapsed() > 300  # only after the release began
        at = sim.now()
        assert alarm_concerns(hot.state, position=DETECTOR_AT, space_id=SPACE)
        hot.record(
            HotWorkAlarmRaised(
                alarm_id="A-1",
                channel=reason.channel,
                fire_point_id="FP-COVER",
                space_id=SPACE,
                value=reason.value,
                limit=reason.limit,
                unit=reason.unit,
            ),
            at,
            actor="P-WATCH",
        )
        pit.record(
            AlarmRaised(
                alarm_id="A-1",
                kind=AlarmKind.GAS,
                channel=reason.channel,
                point=reason.point,
                value=reason.value,
                limit=reason.limit,
                unit=reason.unit,
            ),
            at,
            actor=demo.GUARDIAN,
        )
        assert hot.state.status is HotWorkStatus.SUSPENDED
        assert pit.state.status is Status.EVACUATING
        with pytest.raises(RuleViolation) as refused:
            hot.record(HotWorkResumed(), at + timedelta(minutes=1), actor="P-LEAD")
        assert set(refused.value.codes) == {
            "HOT_WORK_ALARM_ACTIVE",
            "HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS",
        }
