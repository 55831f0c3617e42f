"""Simulated devices read by third-party clients: a plain serial.Serial reader,
pyserial's socket:// URL, minimalmodbus, and the real bleak front end."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

import minimalmodbus
import pytest
import serial
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from hil_sim.devices.ble import SimBleakClient, SimBleakScanner
from hil_sim.devices.modbus import crc16, split_requests
from hil_sim.devices.ports import TcpPort
from hil_sim.runner import Simulation
from sensor_drivers.protocols import Frame, gasl, modbus_gt4, winsen

from .conftest import scenario_with


def _frames(decoder: gasl.LineDecoder | winsen.FrameDecoder, data: bytes) -> list:
    return [m for m in decoder.feed(data) if isinstance(m, Frame)]


async def _read(port: serial.Serial, size: int = 4096) -> bytes:
    return await asyncio.to_thread(port.read, size)


READ_GUARD_S = 20.0  # a delivery guard on a loaded machine, not a speed assertion


async def _read_until(port: serial.Serial, enough: Callable[[bytes], bool]) -> bytes:
    """Read until ``enough(data)`` holds: the simulator has already sent the bytes, so
    this waits only for their delivery, however long a busy machine takes."""
    data = b""
    deadline = time.monotonic() + READ_GUARD_S
    while not enough(data) and time.monotonic() < deadline:
        data += await _read(port)
    return data


async def _until(predicate: Callable[[], bool]) -> None:
    """Let the loop run until ``predicate()`` holds (a guard, not a speed assertion)."""
    deadline = time.monotonic() + READ_GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, "not reached on a loaded machine either"
        await asyncio.sleep(0.005)


def _has_frames(
    decoder: type[gasl.LineDecoder] | type[winsen.FrameDecoder], n: int
) -> Callable[[bytes], bool]:
    return lambda data: len(_frames(decoder(), data)) >= n


async def test_gasl_on_a_pty_reads_with_plain_pyserial() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        ep = sim.endpoint("gasl-serial")
        assert ep.port is not None and ep.port.startswith("/dev/pts/")
        with serial.Serial(ep.port, 9600, timeout=0.3) as port:
            port.write(gasl.encode_command("INFO"))
            await sim.advance(3)

            def info_and_three_frames(data: bytes) -> bool:
                messages = gasl.LineDecoder().feed(data)
                return any(isinstance(m, gasl.DeviceInfo) for m in messages) and (
                    sum(isinstance(m, Frame) for m in messages) >= 3
                )

            data = await _read_until(port, info_and_three_frames)
        messages = gasl.LineDecoder().feed(data)
        info = [m for m in messages if isinstance(m, gasl.DeviceInfo)]
        frames = [m for m in messages if isinstance(m, Frame)]
        assert info and info[0].serial == "GASL-0A17"
        assert len(frames) == 3
        h2s = {cv.channel.value: cv.value for cv in frames[-1].values}["H2S"]
        assert h2s == pytest.approx(sim.truth("top", "H2S", "ppm"), abs=0.05)


async def test_moving_the_probe_changes_the_reading() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        with serial.Serial(sim.endpoint("gasl-serial").port, 9600, timeout=0.3) as port:
            await sim.advance(1)
            top = _frames(
                gasl.LineDecoder(), await _read_until(port, _has_frames(gasl.LineDecoder, 1))
            )[-1]
            sim.move("gasl-serial", "bottom")
            await sim.advance(1)
            bottom = _frames(
                gasl.LineDecoder(), await _read_until(port, _has_frames(gasl.LineDecoder, 1))
            )[-1]
        value = {cv.channel.value: cv.value for cv in top.values}
        value_b = {cv.channel.value: cv.value for cv in bottom.values}
        assert value["H2S"] < 1.0 < 20.0 < value_b["H2S"]


async def test_gasl_on_a_socket_reads_through_serial_for_url() -> None:
    async with Simulation("sewage-pit", speed=0) as sim:
        ep = sim.endpoint("gasl-pit")
        assert ep.port is not None and ep.port.startswith("socket://127.0.0.1:")
        port = serial.serial_for_url(ep.port, timeout=0.3)
        try:
            # Frames go to connected clients only: wait until the listener has this one.
            listener = sim.device_port("gasl-pit")
            assert isinstance(listener, TcpPort)
            await _until(lambda: listener.clients >= 1)
            await sim.advance(2)
            frames = _frames(
                gasl.LineDecoder(), await _read_until(port, _has_frames(gasl.LineDecoder, 2))
            )
        finally:
            port.close()
        assert frames
        lel = {cv.channel.value: cv.value for cv in frames[-1].values}["LEL"]
        assert lel == pytest.approx(sim.truth("top", "LEL", "%LEL"), abs=0.6)
        assert lel > 10  # methane under the cover before ventilation


async def test_winsen_active_upload_on_a_pty() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        with serial.Serial(sim.endpoint("winsen-h2s").port, 9600, timeout=0.3) as port:
            await sim.advance(2)
            data = await _read_until(port, _has_frames(winsen.FrameDecoder, 2))
            frames = _frames(winsen.FrameDecoder(), data)
            assert len(frames) == 2
            assert frames[0].values[0].channel.value == "H2S"
            assert frames[0].values[0].value == pytest.approx(
                sim.truth("bottom", "H2S", "ppm"), abs=0.1
            )
            # question-and-answer mode
            port.write(winsen.QUERY)
            answer = await _read_until(port, lambda data: len(data.partition(b"\xff\x86")[2]) >= 7)
        reply = answer[answer.index(b"\xff\x86") :][:9]
        assert winsen.decode_answer(reply).concentration_raw == round(
            frames[-1].values[0].value * 10
        )


def _modbus_read(url: str, slave: int, address: int, count: int, timeout: float = 5.0) -> list[int]:
    # A present slave answers in milliseconds: the long timeout only covers a busy machine.
    port = serial.serial_for_url(url, baudrate=9600, timeout=timeout)
    try:
        return minimalmodbus.Instrument(port, slave).read_registers(address, count)
    finally:
        port.close()


async def test_modbus_gt4_on_a_pty_reads_with_minimalmodbus() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        url = sim.endpoint("gt4-bottom").port
        assert url is not None
        end = modbus_gt4.channel_address(3) + modbus_gt4.CHANNEL_WORDS
        regs = await asyncio.to_thread(_modbus_read, url, 1, 0, end)
        header, frame = modbus_gt4.decode_image(regs)
        assert header.channel_count == 4 and header.firmware == "1.2"
        values = {cv.channel.value: cv.value for cv in frame.values}
        assert values["H2S"] == pytest.approx(sim.truth("bottom", "H2S", "ppm"), abs=0.1)
        # the float copy of channel 2 (H2S) agrees
        port = serial.serial_for_url(url, baudrate=9600, timeout=0.5)
        try:
            inst = minimalmodbus.Instrument(port, 1)
            as_float = await asyncio.to_thread(inst.read_float, modbus_gt4.channel_address(2) + 5)
        finally:
            port.close()
        assert as_float == pytest.approx(values["H2S"], abs=0.01)
        # live: after ventilation the value has fallen
        await sim.jump(1500)
        later = await asyncio.to_thread(_modbus_read, url, 1, 0, end)
        _, frame2 = modbus_gt4.decode_image(later)
        assert {cv.channel.value: cv.value for cv in frame2.values}["H2S"] < 1.0


async def test_absent_slave_id_stays_silent() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        url = sim.endpoint("gt4-bottom").port
        assert url is not None
        with pytest.raises(minimalmodbus.NoResponseError):
            await asyncio.to_thread(_modbus_read, url, 9, 0, 4, 0.5)  # silence: short wait
        # and the real slave still answers afterwards
        regs = await asyncio.to_thread(_modbus_read, url, 1, 0, 4)
        assert regs[0] == modbus_gt4.DEVICE_TYPE


async def test_vendor_map_over_a_socket() -> None:
    async with Simulation("sewage-pit", speed=0) as sim:
        ep = sim.endpoint("xnx-h2s")
        assert ep.port is not None and ep.port.startswith("socket://")
        assert ep.slave_id == 3 and ep.vendor_map == "honeywell-xnx"

        def read() -> float:
            port = serial.serial_for_url(ep.port, baudrate=9600, timeout=0.5)
            try:
                return minimalmodbus.Instrument(port, 3).read_float(2)
            finally:
                port.close()

        value = await asyncio.to_thread(read)
        assert value == pytest.approx(sim.truth("bottom", "H2S", "ppm"), abs=0.1)
        assert value > 20


def test_request_splitter_drops_noise_and_bad_crc() -> None:
    body = bytes([1, 3, 0, 0, 0, 4])
    good = body + crc16(body)
    buf = bytearray(b"\x99\x00" + good[:-1] + b"\x00" + good + good[:5])
    assert split_requests(buf) == [good]
    assert bytes(buf) == good[:5]  # an incomplete request waits for its tail


def test_backend_classes_implement_bleaks_abstract_methods() -> None:
    # bleak's backend API changed at 1.0 and 3.0; this fails loudly if it moves again.
    assert not inspect.isabstract(SimBleakClient)
    assert not inspect.isabstract(SimBleakScanner)
    assert BaseBleakClient.__abstractmethods__ == frozenset(
        {
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
    )
    assert BaseBleakScanner.__abstractmethods__ == frozenset({"start", "stop"})


async def test_ble_scan_connect_notify_through_real_bleak() -> None:
    async with Simulation("molasses-tank", speed=0) as sim:
        ep = sim.endpoint("gasl-ble")
        assert ep.ble_name == "GASL-3C5E"
        device = await BleakScanner.find_device_by_name(
            "GASL-3C5E", timeout=1.0, backend=sim.ble.scanner_backend
        )
        assert device is not None and device.address == ep.ble_address
        chunks: list[bytes] = []
        client = BleakClient(device, backend=sim.ble.client_backend)
        assert client.backend_id == "SimBleakClient"
        async with client:
            await client.start_notify(gasl.NUS_TX, lambda _c, d: chunks.append(bytes(d)))
            await client.write_gatt_char(gasl.NUS_RX, gasl.encode_command("INFO"), response=False)
            await sim.advance(2)

            def info_and_two_frames() -> bool:
                messages = gasl.LineDecoder().feed(b"".join(chunks))
                return any(isinstance(m, gasl.DeviceInfo) for m in messages) and (
                    sum(isinstance(m, Frame) for m in messages) >= 2
                )

            await _until(info_and_two_frames)  # notifications arrive on the loop
        assert chunks and max(len(c) for c in chunks) <= 20
        messages = gasl.LineDecoder().feed(b"".join(chunks))
        assert any(isinstance(m, gasl.DeviceInfo) and m.serial == "GASL-3C5E" for m in messages)
        frames = [m for m in messages if isinstance(m, Frame)]
        assert len(frames) == 2


async def test_ble_connect_failures_then_success() -> None:
    raw_det = scenario_with("nitrogen-purged-vessel")
    det = raw_det.detectors[0].model_copy(update={"ble_connect_failures": 2})
    scenario = raw_det.model_copy(update={"detectors": [det, *raw_det.detectors[1:]]})
    async with Simulation(scenario, speed=0) as sim:
        address = sim.endpoint("gasl-vessel").ble_address
        for _ in range(2):
            with pytest.raises(Exception, match="simulated connection failure"):
                await BleakClient(address, backend=sim.ble.client_backend).connect()
        client = BleakClient(address, backend=sim.ble.client_backend)
        await client.connect()
        assert client.is_connected
        await client.disconnect()


async def test_ble_link_loss_calls_the_disconnected_callback() -> None:
    scenario = scenario_with(
        "nitrogen-purged-vessel",
        faults=[{"detector": "gasl-vessel", "kind": "link_drop", "at_s": 5, "duration_s": 30}],
    )
    async with Simulation(scenario, speed=0) as sim:
        address = sim.endpoint("gasl-vessel").ble_address
        lost = asyncio.Event()
        client = BleakClient(
            address, disconnected_callback=lambda _c: lost.set(), backend=sim.ble.client_backend
        )
        await client.connect()
        await sim.advance(6)
        await asyncio.wait_for(lost.wait(), 1.0)
        assert not client.is_connected
        with pytest.raises(Exception, match="not found"):
            await BleakClient(address, backend=sim.ble.client_backend).connect()
        await sim.advance(30)
        await client.connect()  # back after the drop
        assert client.is_connected
        await client.disconnect()


def test_simulation_thread_serves_synchronous_callers() -> None:
    from hil_sim import SimulationThread

    with SimulationThread("molasses-tank", speed=0) as sim:
        url = sim.endpoints["gt4-bottom"].port
        assert url is not None
        before = _modbus_read(url, 1, 0, 0x30)
        sim.jump(1500)
        after = _modbus_read(url, 1, 0, 0x30)
        with serial.Serial(sim.endpoints["gasl-serial"].port, 9600, timeout=0.3) as port:
            sim.advance(2)
            data = b""
            deadline = time.monotonic() + READ_GUARD_S
            while len(_frames(gasl.LineDecoder(), data)) < 2 and time.monotonic() < deadline:
                data += port.read(2048)
            frames = _frames(gasl.LineDecoder(), data)
    h2s = {cv.channel.value: cv.value for cv in modbus_gt4.decode_image(before)[1].values}["H2S"]
    h2s_after = {cv.channel.value: cv.value for cv in modbus_gt4.decode_image(after)[1].values}[
        "H2S"
    ]
    assert h2s > 20 and h2s_after < 1
    assert len(frames) == 2


async def test_a_detector_can_sit_on_a_real_serial_device() -> None:
    # A pty stands in for a USB adapter: the simulator opens its slave path as a tty,
    # the "cable" is the master side.
    import os
    import tty

    master, slave = os.openpty()
    tty.setraw(master)
    try:
        async with Simulation(
            "molasses-tank", speed=0, ports={"winsen-h2s": os.ttyname(slave)}
        ) as sim:
            assert sim.endpoint("winsen-h2s").port == os.ttyname(slave)
            await sim.advance(2)
            data = await asyncio.to_thread(os.read, master, 64)
        frames = _frames(winsen.FrameDecoder(), data)
        assert frames and frames[0].values[0].channel.value == "H2S"
    finally:
        os.close(master)
        os.close(slave)


def test_ports_override_refuses_a_ble_detector() -> None:
    from hil_sim.errors import SimError

    with pytest.raises(SimError, match="gasl-ble"):
        Simulation("molasses-tank", ports={"gasl-ble": "/dev/ttyUSB0"})


async def test_a_two_hour_scenario_runs_in_seconds_at_speed() -> None:
    # speed 3600: one scenario hour per wall second. No timing is asserted (that is
    # bench work); the guard of the async runner fails the test if it hangs.
    async with Simulation("molasses-tank", speed=3600) as sim:
        with serial.Serial(sim.endpoint("gasl-serial").port, 9600, timeout=0) as port:
            data = b""
            while not sim.finished:
                await sim.run(duration_s=min(sim.elapsed() + 600, sim.duration_s))
                data += await _read(port)
        frames = _frames(gasl.LineDecoder(), data)
        assert sim.elapsed() >= 7200
        assert frames and frames[-1].device_time_ms is not None
        assert frames[-1].device_time_ms >= 6_000_000  # uptime reached well into the job
