"""Byte ports the simulated devices listen on: a pty (the driver opens its slave path)
or a TCP socket (the driver opens ``socket://127.0.0.1:PORT``)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import termios
import tty
from collections.abc import Callable

from hil_sim.errors import DeviceError, SimErrorCode

# If this much is waiting unread on the slave side, nobody is listening: a real
# serial line would have lost those bytes, so the pty drops them rather than
# handing a late reader minutes-old frames as if they were fresh.
_BACKLOG_LIMIT = 512

DataHandler = Callable[[bytes], None]


class Port:
    url: str

    async def open(self, on_data: DataHandler) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def drop_link(self) -> None:
        """Break the link now (sockets close; a pty has no connection to break)."""

    def accepting(self, value: bool) -> None:
        """Refuse (False) or accept (True) new connections."""

    async def close(self) -> None:
        raise NotImplementedError


class PtyPort(Port):
    def __init__(self) -> None:
        try:
            self.master, self.slave = os.openpty()
        except OSError as err:
            raise DeviceError(SimErrorCode.DEVICE_START_FAILED, f"openpty: {err}") from err
        # Raw both ways: no echo of commands, no CR/LF translation. The simulator keeps
        # the slave open so the master never sees EIO when a driver closes and reopens.
        tty.setraw(self.slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.url = os.ttyname(self.slave)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, on_data: DataHandler) -> None:
        self._loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(self.master, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if data:
                on_data(data)

        self._loop.add_reader(self.master, readable)

    def _unread(self) -> int:
        raw = fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            if self._unread() > _BACKLOG_LIMIT:
                termios.tcflush(self.slave, termios.TCIFLUSH)
        try:
            os.write(self.master, data)
        except (BlockingIOError, OSError):
            pass  # a full line buffer loses bytes, as a real line would

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.master)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class TcpPort(Port):
    """A TCP listener; every connected client receives what the device sends."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # connected clients we send to
        # Every connection ever accepted and its handler, refused ones included, so
        # close() can wait until each socket is really closed (Python 3.11's
        # Server.wait_closed() does not wait for connections).
        self._all: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._closing = False
        self.url = ""

    async def open(self, on_data: DataHandler) -> None:
        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._all.add(writer)
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
            try:
                if not self._accepting or self._closing:
                    return
                self._writers.add(writer)
                while True:
                    data = await reader.read(4096)
                    if not data:
                        break
                    on_data(data)
            except (ConnectionError, OSError):
                pass
            finally:
                self._writers.discard(writer)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
                if task is not None:
                    self._handlers.discard(task)

        try:
            self._server = await asyncio.start_server(client, self._host, self._port)
        except OSError as err:
            raise DeviceError(SimErrorCode.DEVICE_START_FAILED, f"listen: {err}") from err
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"socket://{self._host}:{port}"

    def write(self, data: bytes) -> None:
        for writer in list(self._writers):
            if writer.is_closing():
                self._writers.discard(writer)
                continue
            writer.write(data)

    def drop_link(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def accepting(self, value: bool) -> None:
        self._accepting = value

    @property
    def clients(self) -> int:
        """Connected clients that receive what the device sends."""
        return len(self._writers)

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()  # no new connections from here on
        # A connection accepted just before the listener closed gets its handler on a
        # later loop pass: let those run so they see _closing and close themselves.
        for _ in range(3):
            await asyncio.sleep(0)
        self.drop_link()
        for writer in list(self._all):
            writer.close()
        handlers = list(self._handlers)
        if handlers:
            await asyncio.wait(handlers, timeout=30.0)
        # A socket is closed only once its transport's connection_lost has run: wait
        # for that, or a transport closed just before the loop ends is left to the GC.
        for writer in list(self._all):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 30.0)
        self._all.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 30.0)


def make_port(transport: str, host: str = "127.0.0.1") -> Port:
    if transport == "pty":
        return PtyPort()
    if transport == "socket":
        return TcpPort(host)
    raise DeviceError(
        SimErrorCode.DEVICE_START_FAILED, f"transport {transport!r} is not a byte port"
    )


class SerialDevicePort(Port):
    """A real serial device (a USB-RS485/RS232 adapter) the simulator talks through, so a
    real tablet or adapter on the other end of a null-modem cable reads the simulated
    detector. Any tty works, a pty slave included (that is how it is tested)."""

    def __init__(self, path: str, baudrate: int = 9600) -> None:
        import serial  # lazily: only this port needs pyserial on the simulator side

        try:
            self._serial = serial.Serial(path, baudrate, parity="N", timeout=0, write_timeout=0)
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceError(SimErrorCode.DEVICE_START_FAILED, f"{path}: {err}") from err
        self.url = path
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, on_data: DataHandler) -> None:
        self._loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = self._serial.read(4096)
            except Exception:  # an unplugged adapter: the device has nobody to talk to
                return
            if data:
                on_data(bytes(data))

        self._loop.add_reader(self._serial.fileno(), readable)

    def write(self, data: bytes) -> None:
        with contextlib.suppress(Exception):
            self._serial.write(data)

    async def close(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._serial.fileno())
        with contextlib.suppress(Exception):
            self._serial.close()
