"""Glue for the end-to-end HIL tests: production driver sessions on simulated
devices, readings into the production atmosphere rules.

Nothing here decides safety: the verdicts come from ``permits.atmosphere``
(``evaluate``, ``check_value``) and the data-quality issues from
``sensor_drivers``. These helpers only collect and hand over.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from types import TracebackType
from typing import Any

from hil_sim.runner import Simulation
from permits.atmosphere import Verdict, check_value, evaluate, parse_test
from permits.monitoring import LiveAssessment, assess_live
from permits.profiles import load_profile
from permits.readings import Channel, Reading, StatusFlag, sorted_flags
from sensor_drivers import DetectorSession, DriverError, QualityIssue

PROFILE = load_profile("cn-gongmao")


def session_for(sim: Simulation, detector_id: str, **kw: Any) -> DetectorSession:
    """The production session a tablet would open for this detector, on the simulator's
    clock (stale-stream ages in scenario seconds, readings stamped with scenario time)."""
    ep = sim.endpoint(detector_id)
    spec = sim.model(detector_id).spec
    clocks: dict[str, Any] = {"clock": sim.elapsed, "wall_clock": sim.now, "tick_s": 0.05}
    clocks.update(kw)
    if ep.transport == "ble":
        return DetectorSession.ble(
            ep.ble_address, backend=sim.ble.client_backend, backoff_s=0.05, **clocks
        )
    assert ep.port is not None
    if ep.protocol == "modbus-gt4":
        channel = unit = None
        if spec.vendor_map != "gt4":
            channel, unit = spec.channels[0].channel, spec.channels[0].unit
        return DetectorSession.modbus(
            ep.port,
            slave=spec.slave_id,
            map_name=spec.vendor_map,
            channel=channel,
            unit=unit,
            timeout=0.1,
            poll_interval=0.02,
            retries=1,
            lost_after=3,
            device_serial=spec.serial,
            **clocks,
        )
    return DetectorSession.serial(
        ep.port, protocol=ep.protocol, device_serial=spec.serial, **clocks
    )


class Recorder:
    """Reads a session's events in the background while the test drives the simulator."""

    def __init__(self, session: DetectorSession) -> None:
        self.session = session
        self.events: list[Reading | QualityIssue] = []
        self.error: DriverError | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Recorder:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.session.close()

    async def _run(self) -> None:
        try:
            async for event in self.session.events():
                self.events.append(event)
        except DriverError as err:
            self.error = err

    def readings(self, since: datetime | None = None) -> list[Reading]:
        out = [e for e in self.events if isinstance(e, Reading)]
        if since is not None:
            out = [r for r in out if r.received_at is not None and r.received_at >= since]
        return out

    def issues(self, code: str | None = None) -> list[QualityIssue]:
        out = [e for e in self.events if isinstance(e, QualityIssue)]
        return [i for i in out if code is None or i.code.value == code]

    async def until(self, predicate: Any, guard_s: float = 30.0) -> None:
        """Let the loop run (scenario time does not move) until ``predicate()`` holds:
        for bytes already sent to reach the recorder. A guard, not a speed assertion."""
        deadline = asyncio.get_running_loop().time() + guard_s
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not reached within {guard_s} wall seconds")
            await asyncio.sleep(0.005)

    async def wait_for(
        self,
        predicate: Any,
        sim: Simulation,
        *,
        step_s: float = 1.0,
        max_s: float = 60,
        settle_s: float = 0.02,
    ) -> None:
        """Advance scenario time until ``predicate()`` holds (or fail after ``max_s``).
        ``settle_s`` is the wall time the drivers get after each step: raise it where
        their own timeouts (Modbus, BLE reconnect backoff) run on wall time."""
        waited = 0.0
        while not predicate():
            if waited >= max_s:
                raise AssertionError(f"not reached within {max_s} scenario seconds")
            await sim.advance(step_s, settle_s=settle_s)
            waited += step_s
        await asyncio.sleep(0)


def _reading_dict(r: Reading) -> dict[str, Any]:
    out: dict[str, Any] = {
        "channel": r.channel.value,
        "value": r.value,
        "unit": r.unit.value,
        "status": sorted_flags(r.status),
    }
    if r.gas is not None:
        out["gas"] = r.gas
    return out


async def sample_point(
    sim: Simulation, rec: Recorder, detector_id: str, point: str, *, settle_s: float = 3
) -> dict[str, Any]:
    """Lower the probe to ``point``, let it settle, take the latest value of each channel.

    Only readings of frames the device made after the move count: a frame from the
    previous point may still be in flight. gasl frames carry the device's uptime;
    for the others, two polls after the move."""
    model = sim.model(detector_id)
    sim.move(detector_id, point)
    moved_at = sim.now()
    uptime_at_move = model.uptime_ms(sim.elapsed())

    def after_move() -> list[Reading]:
        out = rec.readings(since=moved_at)
        timed = [r for r in out if r.device_time_ms is not None]
        if timed or model.spec.protocol == "gasl":
            return [r for r in timed if (r.device_time_ms or 0) > uptime_at_move]
        channels = len(model.spec.channels)
        return out[channels:] if len(out) >= 2 * channels else []

    await sim.advance(settle_s)
    await rec.wait_for(lambda: after_move(), sim)
    latest: dict[Channel, Reading] = {}
    for r in after_move():
        latest[r.channel] = r
    return {
        "point": point,
        "taken_at": sim.now().isoformat(),
        "readings": [_reading_dict(r) for r in latest.values()],
    }


def atmosphere_test_data(
    sim: Simulation, detector_id: str, samples: list[dict[str, Any]]
) -> dict[str, Any]:
    """The JSON form of a pre-entry test (what ``cspermit atmosphere check`` reads and
    what ``AtmosphereTestRecorded.test`` carries)."""
    spec = sim.model(detector_id).spec
    space = sim.scenario.space
    return {
        "entry_at": sim.now().isoformat(),
        "space": {
            "id": space.id,
            "required_channels": [c.value for c in space.required_channels],
            "sample_points": [p.name for p in space.points],
        },
        "detector": {
            "serial": spec.serial,
            "calibration_due": spec.calibration_due.isoformat(),
            "last_bump_test": spec.last_bump.isoformat() if spec.last_bump else None,
        },
        "samples": samples,
    }


def atmosphere_test(sim: Simulation, detector_id: str, samples: list[dict[str, Any]]) -> Verdict:
    """A pre-entry test from driver readings, judged by the production rules."""
    return evaluate(parse_test(atmosphere_test_data(sim, detector_id, samples)), PROFILE)


def live(sim: Simulation, rec: Recorder, detector_id: str) -> LiveAssessment:
    """The production live assessment over everything this detector sent so far."""
    window: dict[Channel, list[Reading]] = {}
    for r in rec.readings():
        window.setdefault(r.channel, []).append(r)
    model = sim.model(detector_id)
    return assess_live(
        window,
        PROFILE,
        sim.now(),
        required_channels=[c.channel for c in model.spec.channels],
        point=model.point,
    )


def live_reasons(reading: Reading) -> list[str]:
    """What the live check says about one reading: untrusted -> SENSOR_FAULT, else the
    production entry limits (``check_value``)."""
    if not reading.trusted:
        return ["SENSOR_FAULT"]
    return [
        r.code
        for r in check_value(reading.channel, reading.value, reading.unit, PROFILE, gas=reading.gas)
    ]


def flags(reading: Reading) -> set[StatusFlag]:
    return set(reading.status)
