"""BLE through the REAL bleak.BleakClient / BleakScanner with a simulated backend."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from permits.readings import Channel, Unit
from sensor_drivers import (
    CapabilityError,
    DetectorSession,
    DriverErrorCode,
    LinkError,
    QualityIssue,
)
from sensor_drivers.ble import BleSource, scan
from sensor_drivers.protocols import ChannelValue, gasl

from . import fake_ble
from .fake_ble import FakeBleakClient, FakeBleakScanner, FakePeripheral

T = TypeVar("T")

INFO = gasl.DeviceInfo(
    "BLE-7781", "GX-4B", "1.4.0", date.today() + timedelta(days=30), datetime.now(UTC)
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 20))


@pytest.fixture(autouse=True)
def world() -> Iterator[None]:
    fake_ble.PERIPHERALS.clear()
    yield
    fake_ble.PERIPHERALS.clear()


async def until_connected(session: DetectorSession, connects: int, dev: FakePeripheral) -> None:
    """Wait until the session has subscribed (connected is set after subscribing)."""
    while not (dev.connects >= connects and session.health.connected):
        await asyncio.sleep(0.005)


def line(seq: int, h2s: float = 0.0) -> bytes:
    values = [
        ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1),
        ChannelValue(Channel.LEL, 0, Unit.LEL, decimals=0),
        ChannelValue(Channel.H2S, h2s, Unit.PPM, decimals=1),
        ChannelValue(Channel.CO, 3, Unit.PPM, decimals=0),
    ]
    return gasl.encode_line(seq, seq * 1000, values, 77, 0)


def test_bleak_backend_interface_is_the_one_we_implement() -> None:
    """bleak changed this set at 1.0 and 3.0; a change must fail here, loudly."""
    assert BaseBleakClient.__abstractmethods__ == {
        "connect",
        "disconnect",
        "pair",
        "unpair",
        "is_connected",
        "mtu_size",
        "read_gatt_char",
        "read_gatt_descriptor",
        "write_gatt_char",
        "write_gatt_descriptor",
        "start_notify",
        "stop_notify",
    }
    assert BaseBleakScanner.__abstractmethods__ == {"start", "stop"}
    params = inspect.signature(BleakClient).parameters
    assert "backend" in params and "disconnected_callback" in params


def test_scan_finds_gasl_and_ess_detectors_only() -> None:
    FakePeripheral("AA:01", "GASL-0042")
    FakePeripheral("AA:02", "ENV-9", nus=False, ess_values={Channel.CO: 5.0})
    FakePeripheral("AA:03", "Headphones", nus=False)

    found = run(scan(timeout=0.01, backend=FakeBleakScanner))
    assert {(d.address, d.protocols) for d in found} == {
        ("AA:01", ("gasl",)),
        ("AA:02", ("ess",)),
    }


def test_gasl_lines_in_20_byte_notifications_with_info_command() -> None:
    dev = FakePeripheral("AA:01", "GASL-0042", info=INFO)

    async def main() -> None:
        async with DetectorSession.ble("AA:01", backend=FakeBleakClient) as session:
            await until_connected(session, 1, dev)
            assert dev.connects == 1
            await dev.send_line(line(1) + line(2, h2s=4.5))
            readings = []
            async for reading in session:
                readings.append(reading)
                if len(readings) == 8:
                    break
            assert len(line(1)) > 40  # really split across several notifications
            assert readings[6].channel is Channel.H2S and readings[6].value == 4.5
            assert all(r.device_serial == "BLE-7781" for r in readings)
            assert session.info == INFO
            assert session.health.connected and session.health.frames == 2

    run(main())


def test_ess_device_values_in_ppm_and_nan_is_not_a_number() -> None:
    dev = FakePeripheral("AA:02", "ENV-9", nus=False, ess_values={Channel.CO: 35.0})

    async def main() -> None:
        async with DetectorSession.ble("AA:02", backend=FakeBleakClient) as session:
            events: list[Any] = []
            async for event in session.events():  # the initial read
                events.append(event)
                if not isinstance(event, QualityIssue):
                    break
            assert events[-1].channel is Channel.CO
            assert events[-1].value == pytest.approx(35.0, rel=3e-3)
            await dev.send_ess(Channel.CO, None)  # NaN: not available
            await dev.send_ess(Channel.CO, 12.0)
            async for reading in session:
                assert reading.value == pytest.approx(12.0, rel=3e-3)
                break
            assert session.health.errors == {"VALUE_NOT_AVAILABLE": 1}
            source = session.source
            assert isinstance(source, BleSource)
            assert source.ess_channels == {Channel.CO}
            with pytest.raises(CapabilityError) as caught:
                session.check_capability([Channel.O2, Channel.H2S, Channel.CO])
            assert caught.value.facts["missing"] == ["O2", "H2S"]
            session.check_capability([Channel.CO])

    run(main())


def test_dropped_link_reconnects_with_backoff_and_readings_continue() -> None:
    dev = FakePeripheral("AA:01", "GASL-0042", info=INFO)
    dev_refusals = 2

    async def main() -> None:
        session = DetectorSession.ble("AA:01", backend=FakeBleakClient, backoff_s=0.001)
        async with session:
            await until_connected(session, 1, dev)
            await dev.send_line(line(1))
            async for _reading in session:
                break
            dev.refuse_connects = dev_refusals
            dev.drop()
            await until_connected(session, 2, dev)  # the session reconnects on its own
            await dev.send_line(line(2))
            async for reading in session:
                if reading.device_time_ms == 2000:
                    break
            assert session.health.reconnects == 1
            assert session.health.connected

    run(main())


def test_link_that_never_comes_back_is_detector_lost() -> None:
    dev = FakePeripheral("AA:01", "GASL-0042")

    async def main() -> None:
        session = DetectorSession.ble(
            "AA:01", backend=FakeBleakClient, reconnect_attempts=3, backoff_s=0.001
        )
        async with session:
            await until_connected(session, 1, dev)
            dev.refuse_connects = 10
            dev.drop()
            with pytest.raises(LinkError) as caught:
                async for _reading in session:
                    pass
            assert caught.value.code is DriverErrorCode.DETECTOR_LOST
            assert dev.refuse_connects == 7  # exactly three attempts, then it gave up
            assert not session.health.connected

    run(main())


def test_unknown_address_is_device_not_found() -> None:
    async def main() -> None:
        async with DetectorSession.ble("ZZ:99", backend=FakeBleakClient) as session:
            with pytest.raises(LinkError) as caught:
                async for _reading in session:
                    pass
            assert caught.value.code is DriverErrorCode.DEVICE_NOT_FOUND

    run(main())


def test_read_only_ess_characteristics_are_polled() -> None:
    dev = FakePeripheral("AA:05", "ENV-RO", nus=False, ess_values={Channel.CO2: 800})
    dev.ess_properties = ["read"]

    async def main() -> None:
        session = DetectorSession.ble("AA:05", backend=FakeBleakClient, ess_poll_s=0.01)
        async with session:
            values = []
            async for reading in session:
                values.append(reading.value)
                dev.ess_values[Channel.CO2] = 900
                if reading.value == 900:
                    break
            assert values[0] == 800 and values[-1] == 900

    run(main())


def test_a_cancel_in_the_same_turn_as_a_notification_ends_the_reader() -> None:
    """Stopping a reader that a notification has just woken still stops it (3.11's
    ``asyncio.wait_for`` returned the frame and dropped the cancel; see
    test_session_cancel.py for the session's own queue)."""
    dev = FakePeripheral("AA:09", "GASL-0099", info=INFO)

    async def main() -> None:
        source = BleSource("AA:09", backend=FakeBleakClient, ess_poll_s=0.5)

        async def reader() -> None:
            async for _ in source.events():
                pass

        async def reading() -> asyncio.Task[None]:
            # A reader that is connected, subscribed and waiting for its next frame.
            task = asyncio.create_task(reader())
            connects = dev.connects
            while dev.connects == connects or not source.connected:
                await asyncio.sleep(0.005)
            frames = source.stats.frames
            await dev.send_line(line(0))
            while source.stats.frames == frames:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.01)
            return task

        task = await reading()
        try:
            for seq in range(1, 21):
                await dev.send_line(line(seq))  # the notification runs its callback now
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=5)
                assert done, "the cancelled reader is still running"
                assert task.cancelled()
                task = await reading()
        finally:
            task.cancel()
            await source.close()

    run(main())
