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
