"""Sources: a transport plus a protocol decoder, yielding decoded events.

A source is an async iterator of :data:`SourceEvent`: a :class:`Frame`, a
:class:`DeviceInfo`, a :class:`FrameError` (counted, not fatal) or a non-fatal
:class:`LinkError` (TIMEOUT, BAD_RESPONSE). A fatal failure ends the iterator by
raising ``LinkError(DETECTOR_LOST)``.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from typing import Any

from permits.readings import Channel, Unit
from sensor_drivers.errors import ConfigError, DriverErrorCode, FrameError, LinkError
from sensor_drivers.modbus_link import ModbusLink
from sensor_drivers.protocols import gasl, modbus_gt4, winsen
from sensor_drivers.protocols._common import ChannelValue, Frame, StreamStats
from sensor_drivers.protocols.gasl import DeviceInfo
from sensor_drivers.serial_link import SerialPump

SourceEvent = Frame | DeviceInfo | FrameError | LinkError

SERIAL_PROTOCOLS = ("gasl", "winsen-uart")


class Source(abc.ABC):
    """One detector link. ``stats`` holds the decoder's counters."""

    device_serial: str
    stats: StreamStats
    connected: bool = False
    reconnects: int = 0
    expects_info: bool = False  # the device answers $CMD,INFO: worth waiting for its serial

    @abc.abstractmethod
    def events(self) -> AsyncIterator[SourceEvent]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class SerialSource(Source):
    """gasl or winsen-uart over any pyserial-like port.

    ``winsen_query`` switches a winsen module to question-and-answer mode: the
    source sends the query every ``query_every_s`` and reads each answer as
    ``winsen_query``'s channel, unit and decimals (the answer carries none of them).
    """

    def __init__(
        self,
        port: Any,
        protocol: str,
        device_serial: str,
        ask_info: bool = True,
        winsen_query: ChannelValue | None = None,
        query_every_s: float = 1.0,
    ) -> None:
        if protocol not in SERIAL_PROTOCOLS:
            raise ConfigError(
                DriverErrorCode.INVALID_ARGUMENT,
                f"protocol {protocol!r}; serial supports {', '.join(SERIAL_PROTOCOLS)}",
            )
        self.protocol = protocol
        self.device_serial = device_serial
        self._pump = SerialPump(port)
        self._decoder: gasl.LineDecoder | winsen.FrameDecoder = (
            gasl.LineDecoder() if protocol == "gasl" else winsen.FrameDecoder()
        )
        self.stats = self._decoder.stats
        self._ask_info = ask_info and protocol == "gasl"
        self.expects_info = self._ask_info
        if winsen_query is not None and protocol != "winsen-uart":
            raise ConfigError(DriverErrorCode.INVALID_ARGUMENT, "winsen_query needs winsen-uart")
        self._query = winsen_query
        self._query_every = query_every_s

    def _answer_frame(self, answer: winsen.Answer) -> Frame:
        q = self._query
        assert q is not None
        scale = 10 ** (q.decimals or 0)
        cv = ChannelValue(
            q.channel, answer.concentration_raw / scale, q.unit, full_scale=q.full_scale
        )
        return Frame(winsen.PROTOCOL, (cv,))

    async def _ask(self) -> None:
        while True:
            await self._pump.write(winsen.QUERY)
            await asyncio.sleep(self._query_every)

    async def events(self) -> AsyncIterator[SourceEvent]:
        self._pump.start()
        self.connected = True
        if self._ask_info:
            await self._pump.write(gasl.encode_command("INFO"))
        asker = asyncio.create_task(self._ask()) if self._query is not None else None
        try:
            while True:
                item = await self._pump.queue.get()
                if isinstance(item, LinkError):
                    self.connected = False
                    raise item
                if asker is not None and asker.done() and asker.exception() is not None:
                    self.connected = False
                    raise LinkError(DriverErrorCode.DETECTOR_LOST, "query write failed")
                for message in self._decoder.feed(item):
                    if isinstance(message, Frame | DeviceInfo | FrameError):
                        yield message
                    elif isinstance(message, winsen.Answer) and self._query is not None:
                        self.stats.frames += 1
                        yield self._answer_frame(message)
                    # an echoed gasl command carries no reading
        finally:
            if asker is not None:
                asker.cancel()

    async def close(self) -> None:
        self.connected = False
        await self._pump.close()


class ModbusSource(Source):
    """Polls a modbus-gt4 transmitter, or a vendor map, every ``poll_interval`` s."""

    def __init__(
        self,
        port: Any,
        slave: int,
        device_serial: str,
        map_name: str = "gt4",
        channel: Channel | None = None,
        unit: Unit | None = None,
        poll_interval: float = 1.0,
        retries: int = 2,
        lost_after: int = 3,
    ) -> None:
        self.device_serial = device_serial
        self.stats = StreamStats()
        self._vmap = None if map_name == "gt4" else modbus_gt4.vendor_map(map_name)
        if self._vmap is not None and (channel is None or unit is None):
            raise ConfigError(
                DriverErrorCode.INVALID_ARGUMENT,
                f"map {map_name} needs the fitted sensor's channel and unit",
            )
        self._channel, self._unit = channel, unit
        self.link = ModbusLink(port, slave, retries=retries, lost_after=lost_after)
        self._interval = poll_interval
        self._count = 0

    async def _poll(self) -> SourceEvent:
        if self._vmap is not None:
            assert self._channel is not None and self._unit is not None
            regs = await self.link.read_registers(self._vmap.start, self._vmap.count)
            return modbus_gt4.decode_vendor(self._vmap, regs, self._channel, self._unit).frame
        if self._count == 0:
            header = modbus_gt4.decode_header(
                await self.link.read_registers(0, modbus_gt4.HEADER_COUNT)
            )
            self._count = header.channel_count
        # One request for header and all channel blocks keeps them consistent.
        end = modbus_gt4.channel_address(self._count - 1) + modbus_gt4.CHANNEL_WORDS
        header, frame = modbus_gt4.decode_image(await self.link.read_registers(0, end))
        self._count = header.channel_count
        return frame

    async def events(self) -> AsyncIterator[SourceEvent]:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                event = await self._poll()
            except LinkError as err:
                if err.code is DriverErrorCode.DETECTOR_LOST:
                    self.connected = False
                    raise
                self.connected = False
                yield err
            except FrameError as err:
                self.stats.corrupt_frames += 1
                yield err
            else:
                self.connected = True
                self.stats.frames += 1
                yield event
            await asyncio.sleep(max(0.0, self._interval - (loop.time() - started)))

    async def close(self) -> None:
        self.connected = False
        await asyncio.to_thread(self.link.close)
