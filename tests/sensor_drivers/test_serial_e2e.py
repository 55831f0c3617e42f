"""gasl and winsen-uart end to end: real ptys and a real TCP socket, real pyserial."""

from __future__ import annotations

import asyncio
import gc
import re
import socket
import struct
import threading
import warnings
from collections.abc import Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest

from permits.readings import Channel, StatusFlag, Unit
from sensor_drivers import (
    CapabilityError,
    DetectorSession,
    DriverErrorCode,
    IssueCode,
    LinkError,
    QualityIssue,
    QualityLimits,
)
from sensor_drivers.protocols import ChannelValue, gasl, winsen

from .stubs import SocketDevice, pty_device

T = TypeVar("T")
GUARD_S = 20.0  # a hang guard, not a speed assertion


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, GUARD_S))


def limits(**changes: Any) -> QualityLimits:
    from dataclasses import replace

    return replace(QualityLimits.defaults(), **changes)


def gasl_line(
    seq: int, o2: float = 20.9, h2s: float = 0.0, status: int = 0, bat: int = 88
) -> bytes:
    values = [
        ChannelValue(Channel.O2, o2, Unit.VOL, decimals=1),
        ChannelValue(Channel.H2S, h2s, Unit.PPM, decimals=1),
    ]
    return gasl.encode_line(seq, seq * 1000, values, bat, status)


INFO = gasl.DeviceInfo(
    "GX4-0042",
    "GX-4",
    "3.2.1",
    date.today() + timedelta(days=90),
    datetime.now(UTC) - timedelta(hours=2),
)


async def take(session: DetectorSession, n: int) -> list[Any]:
    out = []
    async for event in session.events():
        out.append(event)
        if sum(1 for e in out if not isinstance(e, QualityIssue)) >= n:
            return out
    return out


def test_gasl_over_a_pty_with_info_command_and_a_sequence_gap() -> None:
    async def main() -> None:
        with pty_device() as dev:
            async with DetectorSession.serial(dev.path, "gasl") as session:
                command = b""
                while b"\n" not in command:  # the driver asks for INFO on connect
                    command += await asyncio.to_thread(dev.read_available, 1.0)
                assert gasl.decode_line(command) == gasl.Command("INFO")
                dev.write(gasl.encode_info(INFO))
                dev.write(
                    b"\x00\x13noise" + gasl_line(1, h2s=1.5) + gasl_line(4, h2s=12.5, status=0x10)
                )
                events = await take(session, 4)
                readings = [e for e in events if not isinstance(e, QualityIssue)]
                assert [(r.channel, r.value) for r in readings] == [
                    (Channel.O2, 20.9),
                    (Channel.H2S, 1.5),
                    (Channel.O2, 20.9),
                    (Channel.H2S, 12.5),
                ]
                assert readings[-1].status == {StatusFlag.ALARM_LOW}
                assert all(r.device_serial == "GX4-0042" for r in readings)
                assert session.info == INFO
                health = session.health
                assert (health.frames, health.seq_gaps, health.missing_frames) == (2, 1, 2)
                assert health.noise_bytes == 7 and health.connected
                assert health.battery == 88
                session.check_capability([Channel.O2, Channel.H2S])
                with pytest.raises(CapabilityError):
                    session.check_capability([Channel.O2, Channel.CO])  # never reported

    run(main())


def test_winsen_over_a_pty_with_garbage_between_frames() -> None:
    async def main() -> None:
        with pty_device() as dev:
            async with DetectorSession.serial(dev.path, "winsen-uart") as session:
                frame = winsen.encode_frame(Channel.CO, Unit.PPM, 35, 1000)
                bad = frame[:8] + bytes([frame[8] ^ 0x55])
                dev.write(b"\xff\xff\x01garbage" + frame + bad + b"\xfe\xff" + frame)
                events = await take(session, 2)
                readings = [e for e in events if not isinstance(e, QualityIssue)]
                assert [(r.channel, r.value, r.unit) for r in readings] == [
                    (Channel.CO, 35.0, Unit.PPM)
                ] * 2
                assert session.health.corrupt_frames == 1
                assert session.health.errors == {"BAD_CHECKSUM": 1}

    run(main())


def test_winsen_value_above_its_stated_full_scale_is_a_fault() -> None:
    async def main() -> None:
        with pty_device() as dev:
            async with DetectorSession.serial(dev.path, "winsen-uart") as session:
                dev.write(winsen.encode_frame(Channel.H2S, Unit.PPM, 150.0, 100.0, decimals=1))
                events = await take(session, 1)
                (issue,) = [e for e in events if isinstance(e, QualityIssue)]
                (reading,) = [e for e in events if not isinstance(e, QualityIssue)]
                assert issue.code is IssueCode.IMPLAUSIBLE_VALUE
                assert issue.reason == "above_full_scale"
                assert StatusFlag.FAULT in reading.status and not reading.trusted

    run(main())


def test_gasl_over_a_tcp_socket_and_the_device_hanging_up_is_detector_lost() -> None:
    dev = SocketDevice()

    def device() -> None:
        conn = dev.accept()
        # pyserial's socket:// drains what is already waiting when it opens, so the
        # device starts streaming once the driver has spoken (its INFO command).
        conn.recv(64)
        conn.sendall(gasl_line(10) + gasl_line(11))
        conn.close()

    thread = threading.Thread(target=device, daemon=True)
    thread.start()

    async def main() -> None:
        async with DetectorSession.serial(dev.url, "gasl") as session:
            seen = []
            with pytest.raises(LinkError) as caught:
                async for reading in session:
                    seen.append(reading)
            assert caught.value.code is DriverErrorCode.DETECTOR_LOST
            assert len(seen) == 4
            assert not session.health.connected

    try:
        run(main())
    finally:
        thread.join(5)
        dev.close()


def test_a_socket_reset_by_the_device_is_closed_when_the_session_closes() -> None:
    # pyserial 3.5's socket:// close() skips socket.close() when shutdown() fails, and
    # shutdown() fails with ENOTCONN after a reset: the socket was left to the garbage
    # collector ("ResourceWarning: unclosed socket", an error under this suite's filters).
    dev = SocketDevice()
    accepted = threading.Event()

    def device() -> None:
        conn = dev.accept()
        conn.recv(64)  # the INFO command: the driver is up
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # linger 0: the peer sees a reset, not an orderly close
        accepted.set()

    thread = threading.Thread(target=device, daemon=True)
    thread.start()

    async def main() -> None:
        session = DetectorSession.serial(dev.url, "gasl", info_wait_s=0.1, tick_s=0.05)
        async with session:
            await asyncio.to_thread(accepted.wait, GUARD_S)
            with pytest.raises(LinkError) as caught:
                async for _reading in session:
                    pass
            assert caught.value.code is DriverErrorCode.DETECTOR_LOST

    try:
        with warnings.catch_warnings(record=True) as caught_warnings:
            warnings.simplefilter("always", ResourceWarning)
            run(main())
            gc.collect()
        leaks = [w for w in caught_warnings if issubclass(w.category, ResourceWarning)]
        assert leaks == [], [str(w.message) for w in leaks]
    finally:
        thread.join(5)
        dev.close()


def test_pty_hang_up_is_detector_lost_not_a_traceback() -> None:
    async def main() -> None:
        with pty_device() as dev:
            session = DetectorSession.serial(dev.path, "gasl", info_wait_s=0.1, tick_s=0.05)
            async with session:
                dev.write(gasl_line(1))
                await take(session, 2)
                dev.hang_up()
                with pytest.raises(LinkError) as caught:
                    await take(session, 1)
                assert caught.value.code is DriverErrorCode.DETECTOR_LOST

    run(main())


def test_silent_detector_becomes_a_stale_stream_fault() -> None:
    async def main() -> None:
        with pty_device() as dev:
            session = DetectorSession.serial(
                dev.path, "gasl", limits=limits(stale_after_s=0.3), tick_s=0.05
            )
            async with session:
                dev.write(gasl_line(1))
                async for event in session.events():
                    if isinstance(event, QualityIssue) and event.code is IssueCode.STALE_STREAM:
                        break
                assert session.health.stale
                assert event.severity == "fault"

    run(main())


def test_implausible_oxygen_and_low_battery_are_flagged() -> None:
    async def main() -> None:
        with pty_device() as dev:
            # This stub never answers INFO: do not hold the first line for long.
            session = DetectorSession.serial(dev.path, "gasl", info_wait_s=0.1, tick_s=0.05)
            async with session:
                dev.write(gasl_line(1, o2=35.0, bat=9))
                events = await take(session, 2)
                codes = {e.code for e in events if isinstance(e, QualityIssue)}
                assert {IssueCode.IMPLAUSIBLE_VALUE, IssueCode.LOW_BATTERY} <= codes
                o2 = next(
                    e for e in events if not isinstance(e, QualityIssue) and e.channel == "O2"
                )
                assert not o2.trusted

    run(main())


def test_unknown_serial_protocol_is_a_config_error() -> None:
    from sensor_drivers import ConfigError

    with pty_device() as dev, pytest.raises(ConfigError):
        DetectorSession.serial(dev.path, "nmea")


def test_missing_port_is_port_unavailable() -> None:
    with pytest.raises(LinkError) as caught:
        DetectorSession.serial("/dev/does-not-exist-cspermit", "gasl")
    assert caught.value.code is DriverErrorCode.PORT_UNAVAILABLE


class PortWithoutInWaiting:
    """A minimal pyserial-like port (read/write/close only), as Android USB-serial
    wrappers may offer: the driver must not need anything more."""

    def __init__(self, path: str) -> None:
        import serial

        self._port = serial.Serial(path, 9600, timeout=0.05)

    def read(self, size: int = 1) -> bytes:
        data: bytes = self._port.read(size)
        return data

    def write(self, data: bytes) -> int | None:
        written: int | None = self._port.write(data)
        return written

    def close(self) -> None:
        self._port.close()


def test_any_pyserial_like_object_works_as_the_port() -> None:
    async def main() -> None:
        with pty_device() as dev:
            port = PortWithoutInWaiting(dev.path)
            session = DetectorSession.serial(
                port, "gasl", device_serial="USB-1", info_wait_s=0.1, tick_s=0.05
            )
            async with session:
                dev.write(gasl_line(1, h2s=2.5))
                events = await take(session, 2)
                readings = [e for e in events if not isinstance(e, QualityIssue)]
                assert [r.value for r in readings] == [20.9, 2.5]
                assert readings[0].device_serial == "USB-1"

    run(main())


def test_lines_before_the_info_reply_still_carry_the_device_serial() -> None:
    async def main() -> None:
        with pty_device() as dev:
            async with DetectorSession.serial(dev.path, "gasl") as session:
                await asyncio.to_thread(dev.read_available, 1.0)  # the INFO command
                dev.write(gasl_line(1) + gasl_line(2))
                while session.source.stats.frames < 2:  # the lines are in before the reply
                    await asyncio.sleep(0.005)
                dev.write(gasl.encode_info(INFO))
                events = await take(session, 4)
                readings = [e for e in events if not isinstance(e, QualityIssue)]
                assert {r.device_serial for r in readings} == {"GX4-0042"}

    run(main())


def test_a_device_that_never_answers_info_still_streams() -> None:
    async def main() -> None:
        with pty_device() as dev:
            session = DetectorSession.serial(dev.path, "gasl", info_wait_s=0.2, tick_s=0.05)
            async with session:
                dev.write(gasl_line(1))
                events = await take(session, 2)
                readings = [e for e in events if not isinstance(e, QualityIssue)]
                assert readings[0].device_serial == f"gasl@{dev.path}"
                assert session.info is None

    run(main())


def test_winsen_question_and_answer_mode_over_a_pty() -> None:
    async def main() -> None:
        with pty_device() as dev:
            stop = threading.Event()

            def module() -> None:  # answers every query with 12.3 ppm (raw 123, 1 dp)
                pending = b""
                while not stop.is_set():
                    pending += dev.read_available(0.05)
                    while winsen.QUERY in pending:
                        pending = pending.split(winsen.QUERY, 1)[1]
                        dev.write(winsen.encode_answer(123))

            thread = threading.Thread(target=module, daemon=True)
            thread.start()
            query = ChannelValue(Channel.H2S, 0.0, Unit.PPM, full_scale=100.0, decimals=1)
            session = DetectorSession.serial(
                dev.path, "winsen-uart", winsen_query=query, query_every_s=0.05
            )
            try:
                async with session:
                    events = await take(session, 2)
            finally:
                stop.set()
                thread.join(2)
            readings = [e for e in events if not isinstance(e, QualityIssue)]
            assert [(r.channel, r.value, r.unit) for r in readings] == [
                (Channel.H2S, 12.3, Unit.PPM)
            ] * 2

    run(main())


def test_a_stream_of_only_corrupt_lines_is_stale_too() -> None:
    async def main() -> None:
        with pty_device() as dev:
            session = DetectorSession.serial(
                dev.path, "gasl", limits=limits(stale_after_s=0.3), tick_s=0.05
            )
            bad = gasl_line(1).replace(b"20.9", b"21.9")  # checksum no longer matches
            async with session:

                async def noise() -> None:
                    while True:
                        dev.write(bad)
                        await asyncio.sleep(0.01)  # faster than the idle tick

                writer = asyncio.create_task(noise())
                try:
                    async for event in session.events():
                        assert isinstance(event, QualityIssue)  # never a reading
                        if event.code is IssueCode.STALE_STREAM:
                            break
                finally:
                    writer.cancel()
                assert session.health.corrupt_frames > 0

    run(main())


def test_a_lost_session_stays_lost() -> None:
    async def main() -> None:
        with pty_device() as dev:
            session = DetectorSession.serial(dev.path, "gasl", info_wait_s=0.1, tick_s=0.05)
            async with session:
                dev.hang_up()
                for _ in range(2):  # iterating again raises again, it never hangs
                    with pytest.raises(LinkError) as caught:
                        async for _reading in session:
                            pass
                    assert caught.value.code is DriverErrorCode.DETECTOR_LOST

    run(main())


def test_spy_url_records_the_traffic_while_decoding(tmp_path: Any) -> None:
    log = tmp_path / "capture.txt"

    async def main() -> None:
        with pty_device() as dev:
            session = DetectorSession.serial(
                f"spy://{dev.path}?file={log}", "winsen-uart", device_serial="W1"
            )
            async with session:
                dev.write(winsen.encode_frame(Channel.O2, Unit.VOL, 20.9, 30.0, decimals=1))
                events = await take(session, 1)
                assert [e.value for e in events if not isinstance(e, QualityIssue)] == [20.9]

    run(main())
    # The pty hands the bytes over in as many reads as the kernel's timing gives (one
    # chunk, or "FF" then the rest under load), and spy:// logs each read on its own
    # line: join the received bytes of every RX line, then look for the whole frame.
    received = b"".join(bytes.fromhex(m) for m in SPY_RX.findall(log.read_text()))
    assert bytes.fromhex("FF05030100D1012CF9") in received


# pyserial's spy:// hex dump: "<time> RX   <offset>  <16 hex bytes, 49 columns> <ascii>"
SPY_RX = re.compile(r"^\S+ RX +[0-9A-F]{4}  (.{49})", re.MULTILINE)
