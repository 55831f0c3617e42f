"""Small device stubs speaking real protocol bytes over real ptys and sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import tty
from collections.abc import Iterator


class PtyDevice:
    """The device end of a pty: tests write frames to the master; the driver opens ``path``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        self.path = os.ttyname(self.slave)
        self.received = bytearray()
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_available(self, timeout: float = 0.0) -> bytes:
        import select

        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return b""
        with self._lock:
            self.received += data
        return data

    def hang_up(self) -> None:
        """Close both ends the test holds: the driver's reads then fail with EIO."""
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        self.hang_up()


@contextlib.contextmanager
def pty_device() -> Iterator[PtyDevice]:
    dev = PtyDevice()
    try:
        yield dev
    finally:
        dev.close()


class SocketDevice:
    """A TCP listener on 127.0.0.1: the driver connects with ``socket://127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self.conn: socket.socket | None = None

    def accept(self, timeout: float = 5.0) -> socket.socket:
        self.server.settimeout(timeout)
        self.conn, _ = self.server.accept()
        return self.conn

    def close(self) -> None:
        for s in (self.conn, self.server):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()


class PtyBridge:
    """Two ptys whose masters are cross-copied, like ``socat pty,raw,echo=0 pty,raw,echo=0``:
    a device program opens ``device_path``, the driver opens ``driver_path``."""

    def __init__(self) -> None:
        self._a_master, self._a_slave = os.openpty()
        self._b_master, self._b_slave = os.openpty()
        for fd in (self._a_master, self._b_master, self._a_slave, self._b_slave):
            tty.setraw(fd)
        self.device_path = os.ttyname(self._a_slave)
        self.driver_path = os.ttyname(self._b_slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._copy, daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        import select

        pairs = {self._a_master: self._b_master, self._b_master: self._a_master}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(pairs), [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                    os.write(pairs[fd], data)
                except OSError:
                    continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self._a_master, self._b_master, self._a_slave, self._b_slave):
            with contextlib.suppress(OSError):
                os.close(fd)
