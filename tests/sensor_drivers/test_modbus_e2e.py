"""Modbus RTU end to end: minimalmodbus (in the driver) against a pymodbus 3.16
ModbusSerialServer on a real pty pair, parity N (this kernel refuses even parity on ptys)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from permits.readings import Channel, StatusFlag, Unit
from sensor_drivers import DetectorSession, DriverErrorCode, IssueCode, LinkError, QualityIssue
from sensor_drivers.protocols import ChannelValue, modbus_gt4

from .stubs import PtyBridge

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))


class ModbusDevice:
    """pymodbus serving one register image as slave ``slave_id`` on the device end of a pty pair.

    pymodbus answers an unknown slave id with an exception frame; a real bus stays
    silent, so requests for other ids are dropped before pymodbus sees them.
    ``corrupt_replies`` flips the CRC of that many replies.
    """

    def __init__(self, registers: list[int], slave_id: int = 1, address: int = 0) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusSerialServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        self.bridge = PtyBridge()
        self.slave_id = slave_id
        self.corrupt_replies = 0
        self.loop = asyncio.new_event_loop()
        device = SimDevice(
            id=slave_id,
            simdata=[SimData(address=address, values=registers, datatype=DataType.UINT16)],
        )
        self._ready = threading.Event()

        async def serve() -> None:
            self.server = ModbusSerialServer(
                device,
                framer=FramerType.RTU,
                port=self.bridge.device_path,
                baudrate=9600,
                parity="N",
                ignore_missing_devices=True,
                trace_packet=self._trace,
                trace_connect=lambda up: self._ready.set() if up else None,
            )
            await self.server.serve_forever()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(serve(),))
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("pymodbus server did not open its pty")

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            return data if data[:1] == bytes([self.slave_id]) else b""
        if self.corrupt_replies > 0:
            self.corrupt_replies -= 1
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(10)
        self.thread.join(10)
        self.loop.close()
        self.bridge.close()


@pytest.fixture
def device_factory() -> Iterator[Callable[..., ModbusDevice]]:
    made: list[ModbusDevice] = []

    def make(registers: list[int], slave_id: int = 1, address: int = 0) -> ModbusDevice:
        made.append(ModbusDevice(registers, slave_id, address))
        return made[-1]

    yield make
    for dev in made:
        dev.close()


GT4 = modbus_gt4.register_image(
    [
        ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1),
        ChannelValue(Channel.H2S, None, Unit.PPM, decimals=0),
        ChannelValue(Channel.LEL, 7, Unit.LEL, frozenset({StatusFlag.ALARM_LOW}), decimals=0),
    ],
    status=0x08,
)


async def first_frame_events(session: DetectorSession, readings: int = 2) -> list[Any]:
    out = []
    async for event in session.events():
        out.append(event)
        if sum(not isinstance(e, QualityIssue) for e in out) == readings:
            return out
    return out


def test_gt4_through_minimalmodbus_against_pymodbus(
    device_factory: Callable[..., ModbusDevice],
) -> None:
    dev = device_factory(GT4)

    async def main() -> None:
        session = DetectorSession.modbus(dev.bridge.driver_path, slave=1, timeout=0.5)
        async with session:
            events = await first_frame_events(session)
            readings = [e for e in events if not isinstance(e, QualityIssue)]
            issues = [e for e in events if isinstance(e, QualityIssue)]
            assert [(r.channel, r.value, r.unit) for r in readings] == [
                (Channel.O2, 20.9, Unit.VOL),
                (Channel.LEL, 7.0, Unit.LEL),
            ]
            assert readings[1].status == {StatusFlag.LOW_BATTERY, StatusFlag.ALARM_LOW}
            assert readings[1].gas == "CH4"
            # H2S said 0xFFFF: no number, an explicit fault instead
            assert any(
                i.code is IssueCode.VALUE_NOT_AVAILABLE and i.channel is Channel.H2S for i in issues
            )
            assert any(i.code is IssueCode.LOW_BATTERY for i in issues)

    run(main())


def test_a_corrupted_reply_is_retried_and_counted(
    device_factory: Callable[..., ModbusDevice],
) -> None:
    dev = device_factory(GT4)
    dev.corrupt_replies = 1

    async def main() -> None:
        session = DetectorSession.modbus(dev.bridge.driver_path, slave=1, timeout=0.5, retries=2)
        async with session:
            await first_frame_events(session)
            source = session.source
            assert source.link.bad_responses == 1  # type: ignore[attr-defined]
            assert session.health.frames >= 1

    run(main())


def test_every_reply_corrupted_ends_as_detector_lost(
    device_factory: Callable[..., ModbusDevice],
) -> None:
    dev = device_factory(GT4)
    dev.corrupt_replies = 1000

    async def main() -> None:
        session = DetectorSession.modbus(
            dev.bridge.driver_path,
            slave=1,
            timeout=0.3,
            retries=1,
            lost_after=2,
            poll_interval=0.05,
        )
        async with session:
            with pytest.raises(LinkError) as caught:
                await first_frame_events(session)
            assert caught.value.code is DriverErrorCode.DETECTOR_LOST
            assert caught.value.facts["last_error"] == "BAD_RESPONSE"

    run(main())


def test_silent_missing_slave_times_out_then_is_detector_lost(
    device_factory: Callable[..., ModbusDevice],
) -> None:
    dev = device_factory(GT4, slave_id=1)

    async def main() -> None:
        session = DetectorSession.modbus(
            dev.bridge.driver_path,
            slave=7,
            timeout=0.2,
            retries=1,
            lost_after=2,
            poll_interval=0.05,
        )
        async with session:
            with pytest.raises(LinkError) as caught:
                await first_frame_events(session)
            assert caught.value.code is DriverErrorCode.DETECTOR_LOST
            assert caught.value.facts["last_error"] == "TIMEOUT"
            assert session.health.errors["TIMEOUT"] == 1  # one failed poll reported before lost
            assert session.source.link.timeouts == 4  # type: ignore[attr-defined]

    run(main())


def test_honeywell_xnx_vendor_map(device_factory: Callable[..., ModbusDevice]) -> None:
    vmap = modbus_gt4.vendor_map("honeywell-xnx")
    regs = modbus_gt4.vendor_image(vmap, 8.5, fault_number=0, flag_names=["alarm_low"])
    dev = device_factory(regs, address=vmap.start)

    async def main() -> None:
        session = DetectorSession.modbus(
            dev.bridge.driver_path,
            slave=1,
            map_name="honeywell-xnx",
            channel=Channel.H2S,
            unit=Unit.PPM,
        )
        async with session:
            async for reading in session:
                assert (reading.channel, reading.value) == (Channel.H2S, 8.5)
                assert reading.status == {StatusFlag.ALARM_LOW}
                break

    run(main())
