"""Run a scenario: the gas field, the clock, and every detector on its transport.

::

    async with Simulation("molasses-tank", speed=0) as sim:
        ep = sim.endpoint("gasl-serial")        # ep.port: "/dev/pts/7"
        await sim.advance(30)                   # 30 scenario seconds, frames sent each second
        sim.clock.now()                         # scenario datetime, for the code under test

``speed=0`` freezes scenario time between :meth:`Simulation.advance` calls (fully
deterministic); ``speed=X`` runs it X times faster than the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from hil_sim.clock import ScenarioClock
from hil_sim.devices.ble import BleBus, SimPeripheral
from hil_sim.devices.modbus import ModbusDevice
from hil_sim.devices.model import DetectorModel
from hil_sim.devices.ports import Port, SerialDevicePort, make_port
from hil_sim.devices.stream import StreamDevice
from hil_sim.errors import SimError, SimErrorCode
from hil_sim.gasfield import GasField
from hil_sim.scenario import Scenario, load_scenario
from permits.readings import Channel, Unit


@dataclass(frozen=True)
class Endpoint:
    """How to reach one simulated detector."""

    detector: str
    serial: str
    protocol: str
    transport: str
    point: str
    port: str | None = None  # pty path or socket:// URL (pyserial's serial_for_url)
    ble_name: str | None = None
    ble_address: str | None = None
    slave_id: int | None = None
    vendor_map: str | None = None
    baudrate: int | None = None  # byte ports only

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Simulation:
    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        speed: float = 1.0,
        seed: int | None = None,
        clock: ScenarioClock | None = None,
        host: str = "127.0.0.1",
        max_frame_rate_hz: float = 20.0,
        tick_s: float = 0.01,
        ports: dict[str, str] | None = None,
    ) -> None:
        """``ports`` puts named byte-port detectors on real serial devices instead of a
        pty or socket (``{"gasl-serial": "/dev/ttyUSB1"}``), for a null-modem cable to a
        real tablet or adapter."""
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.clock = clock or ScenarioClock(self.scenario.scenario.start, speed)
        self.seed = self.scenario.scenario.seed if seed is None else seed
        self.field = GasField.from_scenario(self.scenario)
        self._field_lock = threading.Lock()
        self.ble = BleBus()
        self._host = host
        self._min_wall = 1.0 / max_frame_rate_hz
        self._tick = tick_s
        self._ports = dict(ports or {})
        known = {d.id: d for d in self.scenario.detectors}
        for det_id in self._ports:
            if det_id not in known or known[det_id].transport == "ble":
                raise SimError(
                    SimErrorCode.UNKNOWN_DEVICE, f"ports: {det_id} is not a byte-port detector"
                )
        self.models: dict[str, DetectorModel] = {}
        for i, spec in enumerate(self.scenario.detectors):
            self.models[spec.id] = DetectorModel(
                spec,
                self.field,
                self.scenario.faults,
                start=self.clock.start,
                seed=self.seed * 1000 + i,
                advance=self._advance_field,
            )
        self._devices: dict[str, StreamDevice | ModbusDevice | SimPeripheral] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self._last: dict[str, tuple[float, float]] = {}  # id -> (scenario t, wall t) of last frame
        self._ticker: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.started = False

    # --- time and truth --------------------------------------------------------------

    def elapsed(self) -> float:
        return self.clock.elapsed()

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def duration_s(self) -> float:
        return self.scenario.scenario.duration_s

    @property
    def finished(self) -> bool:
        return self.elapsed() >= self.duration_s

    def _advance_field(self, t: float) -> None:
        with self._field_lock:
            if t > self.field.t:
                self.field.advance_to(t)

    def truth(self, point: str, channel: Channel | str, unit: Unit | str) -> float:
        """What a perfect detector would read at ``point`` now (for test assertions)."""
        if point not in self.field.points:
            raise ValueError(f"point: expected one of {', '.join(self.field.points)}")
        self._advance_field(self.elapsed())
        model = next(iter(self.models.values()))
        return model._truth(Channel(channel), Unit(unit), point)

    def model(self, detector_id: str) -> DetectorModel:
        try:
            return self.models[detector_id]
        except KeyError:
            raise SimError(
                SimErrorCode.UNKNOWN_DEVICE, f"{detector_id} (have: {', '.join(self.models)})"
            ) from None

    def move(self, detector_id: str, point: str) -> None:
        """Lower or raise a detector's probe to another sample point."""
        self.model(detector_id).move_to(point)

    def endpoint(self, detector_id: str) -> Endpoint:
        if detector_id not in self.endpoints:
            self.model(detector_id)  # names the device if it does not exist
            raise SimError(SimErrorCode.UNKNOWN_DEVICE, f"{detector_id} is not started")
        return self.endpoints[detector_id]

    def device_port(self, detector_id: str) -> Port:
        """The byte port a streaming or Modbus detector listens on (tests wait on it,
        e.g. until a socket client is connected, instead of sleeping)."""
        self.endpoint(detector_id)
        device = self._devices[detector_id]
        if isinstance(device, StreamDevice | ModbusDevice):
            return device.port
        raise SimError(SimErrorCode.UNKNOWN_DEVICE, f"{detector_id} has no byte port (BLE)")

    def frames_sent(self, detector_id: str) -> int:
        """Frames a streaming detector has put on its link with a valid checksum."""
        self.endpoint(detector_id)
        device = self._devices[detector_id]
        return device.good_frames_sent if isinstance(device, StreamDevice) else 0

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> dict[str, Endpoint]:
        try:
            for spec in self.scenario.detectors:
                model = self.models[spec.id]
                now = self.elapsed
                if spec.transport == "ble":
                    peripheral = self.ble.add(model, now)
                    self._devices[spec.id] = peripheral
                    self.endpoints[spec.id] = Endpoint(
                        spec.id,
                        spec.serial,
                        spec.protocol,
                        spec.transport,
                        spec.point,
                        ble_name=peripheral.name,
                        ble_address=peripheral.address,
                    )
                    continue
                port: Port
                if spec.id in self._ports:
                    port = SerialDevicePort(self._ports[spec.id], spec.baudrate)
                else:
                    port = make_port(spec.transport, self._host)
                device: StreamDevice | ModbusDevice
                if spec.protocol == "modbus-gt4":
                    device = ModbusDevice(model, port, now)
                else:
                    device = StreamDevice(model, port, now)
                self._devices[spec.id] = device
                await device.start()
                self.endpoints[spec.id] = Endpoint(
                    spec.id,
                    spec.serial,
                    spec.protocol,
                    spec.transport,
                    spec.point,
                    port=port.url,
                    slave_id=spec.slave_id if spec.protocol == "modbus-gt4" else None,
                    vendor_map=spec.vendor_map if spec.protocol == "modbus-gt4" else None,
                    baudrate=spec.baudrate,
                )
        except BaseException:
            await self.stop()
            raise
        self._ticker = asyncio.create_task(self._run_ticker(), name="hil-sim-ticker")
        self.started = True
        return dict(self.endpoints)

    async def stop(self) -> None:
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for device in self._devices.values():
            if isinstance(device, SimPeripheral):
                device.drop_all()
            else:
                with contextlib.suppress(Exception):
                    await device.stop()
        self._devices.clear()
        self.started = False

    async def __aenter__(self) -> Simulation:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- frames ----------------------------------------------------------------------

    def _due(self, *, limit_rate: bool = True) -> list[str]:
        t, wall = self.elapsed(), time.monotonic()
        min_wall = self._min_wall if limit_rate else 0.0
        due = []
        for spec in self.scenario.detectors:
            if spec.protocol == "modbus-gt4":
                continue  # answers requests; sends nothing on its own
            last = self._last.get(spec.id)
            if last is None or (t - last[0] >= spec.period_s - 1e-9 and wall - last[1] >= min_wall):
                due.append(spec.id)
        return due

    def emit(self, detector_ids: list[str] | None = None) -> None:
        """Send one frame from each streaming detector now (all of them by default)."""
        t, wall = self.elapsed(), time.monotonic()
        for det_id in detector_ids if detector_ids is not None else list(self._devices):
            device = self._devices.get(det_id)
            if device is None or isinstance(device, ModbusDevice):
                continue
            self._last[det_id] = (t, wall)
            device.emit(self.models[det_id].output(t))

    async def _run_ticker(self) -> None:
        while True:
            due = self._due()
            if due:
                self.emit(due)
            t = self.elapsed()
            for device in self._devices.values():
                if isinstance(device, ModbusDevice):
                    device.sync_link(t)
            await asyncio.sleep(self._tick)

    async def advance(self, seconds: float, *, step_s: float = 1.0, settle_s: float = 0.02) -> None:
        """Move scenario time ahead by ``seconds`` in steps of ``step_s``; after each step
        every streaming detector sends a frame and the loop runs for ``settle_s`` of wall
        time so drivers can read it. Use with ``speed=0``."""
        target = self.elapsed() + seconds
        while self.elapsed() < target - 1e-9:
            self.clock.advance(min(step_s, target - self.elapsed()))
            self.emit(self._due(limit_rate=False))
            await asyncio.sleep(settle_s)

    async def jump(self, seconds: float) -> None:
        """Skip ahead without sending the frames in between (the field still integrates)."""
        self.clock.advance(seconds)
        self._advance_field(self.elapsed())
        await asyncio.sleep(0)

    async def run(self, duration_s: float | None = None) -> None:
        """Wait until the scenario (or ``duration_s`` of it) is over, or :meth:`stop`."""
        end = self.duration_s if duration_s is None else duration_s
        while self.elapsed() < end and not self._stopped.is_set():
            wall = self.clock.wall_seconds(end - self.elapsed())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(0.2, wall)):  # keeps a cancel, unlike wait_for
                    await self._stopped.wait()


class SimulationThread:
    """A :class:`Simulation` on its own event loop in a daemon thread, for synchronous
    callers (scripts, a demo, a sync test)::

        with SimulationThread("molasses-tank", speed=30) as sim:
            port = sim.endpoints["gasl-serial"].port
            sim.advance(60)          # blocking; with speed=0 this is how time moves

    BLE peripherals live on the simulator's loop; bleak clients on another loop are
    served across threads (notifications are scheduled on the client's loop).
    """

    def __init__(self, scenario: Scenario | str | Path, **kw: Any) -> None:
        self._args = (scenario, kw)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hil-sim", daemon=True)
        self.sim: Simulation | None = None
        self.endpoints: dict[str, Endpoint] = {}

    def _call(self, coro: Any, timeout: float | None = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> dict[str, Endpoint]:
        self._thread.start()

        async def make() -> Simulation:
            scenario, kw = self._args
            return Simulation(scenario, **kw)

        self.sim = self._call(make())
        self.endpoints = self._call(self.sim.start())
        return dict(self.endpoints)

    @property
    def clock(self) -> ScenarioClock:
        assert self.sim is not None
        return self.sim.clock

    def advance(self, seconds: float, **kw: Any) -> None:
        assert self.sim is not None
        self._call(self.sim.advance(seconds, **kw), timeout=None)

    def jump(self, seconds: float) -> None:
        assert self.sim is not None
        self._call(self.sim.jump(seconds))

    def move(self, detector_id: str, point: str) -> None:
        assert self.sim is not None
        self.sim.move(detector_id, point)

    def stop(self) -> None:
        if self.sim is not None and self._thread.is_alive():
            self._call(self.sim.stop())
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)  # generous: a busy machine must not leave the loop open
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> SimulationThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
