"""The detector session: one reading stream and one quality layer for every link.

::

    async with DetectorSession.serial("/dev/ttyUSB0", protocol="gasl") as session:
        async for reading in session:          # permits.readings.Reading
            ...
        session.info                           # DeviceInfo or None
        session.health                         # Health snapshot

``session.events()`` yields readings *and* :class:`QualityIssue` items (stale
stream, implausible value, ...); iterating the session itself yields readings
only. A lost detector ends either iterator with ``LinkError(DETECTOR_LOST)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from permits.readings import Channel, Reading, Unit
from sensor_drivers.errors import ConfigError, DriverError, DriverErrorCode, LinkError
from sensor_drivers.protocols._common import ChannelValue, Frame
from sensor_drivers.protocols.gasl import DeviceInfo
from sensor_drivers.quality import QualityIssue, QualityLimits, QualityMonitor
from sensor_drivers.sources import ModbusSource, SerialSource, Source, SourceEvent

SessionEvent = Reading | QualityIssue


@dataclass(frozen=True, slots=True)
class Health:
    connected: bool
    last_reading_age_s: float | None  # None: no reading yet
    stale: bool
    frames: int
    corrupt_frames: int
    dropped_lines: int
    noise_bytes: int
    seq_gaps: int
    missing_frames: int
    reconnects: int
    errors: dict[str, int] = field(default_factory=dict)  # DriverErrorCode value -> count
    battery: int | None = None


class DetectorSession:
    """Readings from one detector over any :class:`~sensor_drivers.sources.Source`."""

    def __init__(
        self,
        source: Source,
        limits: QualityLimits | None = None,
        tick_s: float = 0.5,
        info_wait_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source = source
        self.quality = QualityMonitor(limits)
        self.info: DeviceInfo | None = None
        self.issues: list[QualityIssue] = []  # every issue raised so far, oldest first
        self.last_frame: Frame | None = None
        self._tick = tick_s
        self._clock = clock
        self._wall = wall_clock
        self._errors: Counter[str] = Counter()
        self._started_at = clock()
        self._battery: int | None = None
        # Each event carries the monotonic and wall time it arrived, so a backlog is
        # judged by when the device spoke, not by when the reader got round to it.
        self._queue: asyncio.Queue[tuple[SourceEvent | _End | None, float, datetime]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._ended: DriverError | None = None
        # Never hold frames so long that the stream would look stale meanwhile.
        self._info_wait = min(info_wait_s, self.quality.limits.stale_after_s / 2)
        self._held: list[tuple[Frame, float, datetime]] = []

    # --- constructors ------------------------------------------------------------------
    @classmethod
    def serial(
        cls,
        port: str | Any,
        protocol: str = "gasl",
        baudrate: int = 9600,
        device_serial: str | None = None,
        winsen_query: ChannelValue | None = None,
        query_every_s: float = 1.0,
        **kw: Any,
    ) -> DetectorSession:
        """gasl or winsen-uart on a path / pyserial URL, or an open pyserial-like object.

        ``winsen_query`` (channel, unit, decimals, full scale of the module) selects
        winsen question-and-answer mode, asking every ``query_every_s``.
        """
        from sensor_drivers.serial_link import open_serial
        from sensor_drivers.sources import SERIAL_PROTOCOLS

        if protocol not in SERIAL_PROTOCOLS:  # before opening, so nothing is left open
            raise ConfigError(
                DriverErrorCode.INVALID_ARGUMENT,
                f"protocol {protocol!r}; serial supports {', '.join(SERIAL_PROTOCOLS)}",
            )
        if winsen_query is not None and protocol != "winsen-uart":
            raise ConfigError(DriverErrorCode.INVALID_ARGUMENT, "winsen_query needs winsen-uart")
        name = port if isinstance(port, str) else getattr(port, "port", None) or "serial"
        port_obj = open_serial(port, baudrate) if isinstance(port, str) else port
        source = SerialSource(
            port_obj,
            protocol,
            device_serial or f"{protocol}@{name}",
            winsen_query=winsen_query,
            query_every_s=query_every_s,
        )
        return cls(source, **kw)

    @classmethod
    def modbus(
        cls,
        port: str | Any,
        slave: int | None = None,
        map_name: str = "gt4",
        channel: Channel | None = None,
        unit: Unit | None = None,
        baudrate: int | None = None,
        parity: str | None = None,
        timeout: float = 0.5,
        poll_interval: float = 1.0,
        retries: int = 2,
        lost_after: int = 3,
        device_serial: str | None = None,
        **kw: Any,
    ) -> DetectorSession:
        """modbus-gt4 (``map_name="gt4"``) or a vendor map such as ``honeywell-xnx``.

        ``slave``, ``baudrate`` and ``parity`` default to the map's (gt4: 1, 9600, N).
        """
        from sensor_drivers.protocols import modbus_gt4
        from sensor_drivers.serial_link import open_serial

        # Validate everything before opening the port, so a mistake leaves nothing open.
        vmap = None if map_name == "gt4" else modbus_gt4.vendor_map(map_name)
        if vmap is not None and (channel is None or unit is None):
            raise ConfigError(
                DriverErrorCode.INVALID_ARGUMENT,
                f"map {map_name} needs the fitted sensor's channel and unit",
            )
        slave = slave if slave is not None else (vmap.default_slave if vmap else 1)
        baudrate = baudrate or (vmap.default_baudrate if vmap else 9600)
        parity = parity or (vmap.default_parity if vmap else "N")
        if not 1 <= slave <= 247:
            raise ConfigError(DriverErrorCode.INVALID_ARGUMENT, f"slave must be 1-247, got {slave}")
        name = port if isinstance(port, str) else getattr(port, "port", None) or "serial"
        port_obj = open_serial(port, baudrate, parity, timeout) if isinstance(port, str) else port
        source = ModbusSource(
            port_obj,
            slave,
            device_serial or f"{map_name}@{name}#{slave}",
            map_name,
            channel,
            unit,
            poll_interval,
            retries,
            lost_after,
        )
        return cls(source, **kw)

    @classmethod
    def ble(
        cls,
        address_or_device: Any,
        backend: Any = None,
        device_serial: str | None = None,
        reconnect_attempts: int = 5,
        backoff_s: float = 0.5,
        ess_poll_s: float = 1.0,
        **kw: Any,
    ) -> DetectorSession:
        """A BLE detector (gasl over Nordic UART and/or ESS); ``backend`` as in bleak."""
        from sensor_drivers.ble import BleSource

        source = BleSource(
            address_or_device,
            backend=backend,
            device_serial=device_serial,
            reconnect_attempts=reconnect_attempts,
            backoff_s=backoff_s,
            ess_poll_s=ess_poll_s,
        )
        return cls(source, **kw)

    # --- lifecycle ---------------------------------------------------------------------
    async def __aenter__(self) -> DetectorSession:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        if self._task is None:
            self._started_at = self._clock()
            self._task = asyncio.create_task(self._pump(), name="detector-session")

    def _put(self, item: SourceEvent | _End | None) -> None:
        self._queue.put_nowait((item, self._clock(), self._wall()))

    async def _pump(self) -> None:
        try:
            async for event in self.source.events():
                self._put(event)
                # A source that yields without ever suspending (garbage in a tight
                # loop) would otherwise hold the loop, and the stale check with it.
                await asyncio.sleep(0)
        except DriverError as err:
            self._put(_End(err))
        except Exception as err:  # a bug in a backend must still reach the reader as "lost"
            self._put(_End(LinkError(DriverErrorCode.DETECTOR_LOST, repr(err))))
        else:
            if self._closed:
                self._put(None)
            else:  # a link that just ends is a lost detector, never a quiet end of data
                self._put(_End(LinkError(DriverErrorCode.DETECTOR_LOST, "the link ended")))

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.source.close()

    # --- the streams -------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Reading]:
        return self.readings()

    async def readings(self) -> AsyncIterator[Reading]:
        async for event in self.events():
            if isinstance(event, Reading):
                yield event

    async def events(self) -> AsyncIterator[SessionEvent]:
        if self._ended is not None:
            raise self._ended
        self.start()
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for returns an item that
                # arrives in the same loop turn as a cancel and drops the cancel, so a
                # stopped reader would run on (tests/sensor_drivers/test_session_cancel.py).
                async with asyncio.timeout(self._tick):
                    item, at, received = await self._queue.get()
            except TimeoutError:
                item, at, received = _TICK, self._clock(), self._wall()
            now = self._clock()
            for out in self._handle(item, at, received):
                yield out
            if item is None:
                return
            if isinstance(item, _End):  # the source stopped: lost, not found, unusable
                self._ended = item.error
                raise item.error
            # Checked on every pass, not only when idle: a link that delivers nothing
            # but corrupt frames is as stale as a silent one.
            if self._held and now - self._started_at >= self._info_wait:
                for out in self._flush_held():  # no INFO reply: go on without it
                    yield out
            for issue in self._record(self.quality.tick(now, self._started_at)):
                yield issue

    def _handle(self, item: Any, now: float, received: datetime) -> list[SessionEvent]:
        if item is _TICK:
            return []
        if item is None or isinstance(item, _End):
            out = self._flush_held()  # what arrived before the end still counts
            if isinstance(item, _End):
                self._errors[item.error.code.value] += 1
            return out
        if isinstance(item, DriverError):  # one bad frame or one failed poll: counted
            self._errors[item.code.value] += 1
            return []
        if isinstance(item, DeviceInfo):
            self.info = item
            return self._record(self.quality.device_info(item, received)) + self._flush_held()
        if not isinstance(item, Frame):
            # Garbage from a backend is counted, never trusted; the stale check goes on.
            self._errors[DriverErrorCode.BAD_RESPONSE.value] += 1
            return []
        if self._waiting_for_info(now):
            # Hold the first frames briefly so every reading of this session carries
            # the serial number from the INFO reply, not a placeholder.
            self._held.append((item, now, received))
            return []
        return self._flush_held() + self._frame(item, now, received)

    def _waiting_for_info(self, now: float) -> bool:
        return (
            self.info is None
            and self.source.expects_info
            and now - self._started_at < self._info_wait
        )

    def _flush_held(self) -> list[SessionEvent]:
        out: list[SessionEvent] = []
        held, self._held = self._held, []
        for frame, at, received in held:
            out += self._frame(frame, at, received)
        return out

    def _frame(
        self, frame: Frame, now: float, received: datetime | None = None
    ) -> list[SessionEvent]:
        self.last_frame = frame
        out: list[SessionEvent] = []
        if frame.battery is not None:
            self._battery = frame.battery
        out += self._record(self.quality.battery(frame.battery, frame.status))
        received = received or self._wall()
        full_scales = {cv.channel: cv.full_scale for cv in frame.values}
        for channel in frame.unavailable():
            out += self._record([self.quality.unavailable(channel)])
        serial = self.info.serial if self.info is not None else self.source.device_serial
        for reading in frame.readings(serial, received):
            checked, issues = self.quality.reading(reading, now, full_scales.get(reading.channel))
            out += self._record(issues)
            out.append(checked)
        return out

    def known_channels(self) -> frozenset[Channel]:
        """Channels this detector has reported, plus those it offers as ESS characteristics."""
        seen = {cv.channel for cv in self.last_frame.values} if self.last_frame else set()
        return frozenset(seen) | getattr(self.source, "ess_channels", frozenset())

    def check_capability(self, required: Iterable[Channel]) -> None:
        """Raise CHANNEL_NOT_SUPPORTED naming the required gases this detector has not
        shown it can measure (an ESS-only device never has O2 or H2S)."""
        from sensor_drivers.protocols import ess

        ess.check_capability(required, self.known_channels())

    def _record(self, issues: list[QualityIssue]) -> list[SessionEvent]:
        self.issues += issues
        return list(issues)

    @property
    def health(self) -> Health:
        now = self._clock()
        last = self.quality.last_reading_at
        stats = self.source.stats
        return Health(
            connected=self.source.connected,
            last_reading_age_s=None if last is None else now - last,
            stale=self.quality.stale(now, self._started_at),
            frames=stats.frames,
            corrupt_frames=stats.corrupt_frames,
            dropped_lines=stats.dropped_lines,
            noise_bytes=stats.noise_bytes,
            seq_gaps=stats.seq_gaps,
            missing_frames=stats.missing_frames,
            reconnects=self.source.reconnects,
            errors=dict(self._errors),
            battery=self._battery,
        )


_TICK: Any = object()


@dataclass(frozen=True, slots=True)
class _End:
    error: DriverError
