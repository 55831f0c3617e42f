"""Serial byte transport: pyserial URLs and any pyserial-like object.

Reads happen in a worker thread (pyserial is blocking) and arrive on the asyncio
loop through a queue, so the loop never blocks. Works with a device path, a pty,
``socket://host:port``, ``spy://...``, or an object such as Android's
``usbserial4a`` port that offers ``read``, ``write``, ``close`` and a ``timeout``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any, Protocol

from sensor_drivers.errors import DriverErrorCode, LinkError


class SerialLike(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...
    def write(self, data: bytes, /) -> int | None: ...
    def close(self) -> None: ...


def open_serial(url: str, baudrate: int = 9600, parity: str = "N", timeout: float = 0.05) -> Any:
    """Open a port by path or pyserial URL; failures become PORT_UNAVAILABLE."""
    import serial  # lazily: the pure parsers need no pyserial

    try:
        return serial.serial_for_url(
            url, baudrate=baudrate, parity=parity, bytesize=8, stopbits=1, timeout=timeout
        )
    except (serial.SerialException, OSError, ValueError) as err:
        raise LinkError(DriverErrorCode.PORT_UNAVAILABLE, f"{url}: {err}", port=url) from err


class SerialPump:
    """Moves bytes from a blocking port to an asyncio queue on a daemon thread.

    The queue receives ``bytes`` chunks, and one :class:`LinkError`
    (DETECTOR_LOST) if the port fails, after which the pump stops.
    """

    def __init__(self, port: Any, chunk: int = 256) -> None:
        self.port = port
        self.queue: asyncio.Queue[bytes | LinkError] = asyncio.Queue()
        self._chunk = chunk
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="serial-pump", daemon=True)
        self._thread.start()

    def _push(self, item: bytes | LinkError) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # loop already closed: nobody is listening any more
            self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                waiting = getattr(self.port, "in_waiting", 0) or 0
                # read(1) blocks until a byte or the port timeout; then take what is queued.
                data = self.port.read(max(1, min(int(waiting), self._chunk)))
                if data:
                    waiting = getattr(self.port, "in_waiting", 0) or 0
                    if waiting:
                        data += self.port.read(int(waiting))
            except Exception as err:  # any port failure ends the link: report, never crash
                if not self._stop.is_set():
                    self._push(LinkError(DriverErrorCode.DETECTOR_LOST, type(err).__name__))
                return
            if data:
                self._push(bytes(data))

    async def write(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self.port.write, data)
        except Exception as err:
            raise LinkError(DriverErrorCode.DETECTOR_LOST, type(err).__name__) from err

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # The thread ends within one port timeout; the bound is for a busy machine.
            await asyncio.to_thread(self._thread.join, 10.0)

    async def close(self) -> None:
        await self.stop()
        # pyserial's close() sleeps 0.3 s for socket://: keep that off the event loop.
        await asyncio.to_thread(close_port, self.port)


def close_port(port: Any) -> None:
    """Close a pyserial(-like) port and everything it holds, deterministically.

    pyserial 3.5's ``socket://`` close() calls ``shutdown()`` and ``close()`` in one
    ``try``: when the peer has already gone, ``shutdown()`` raises ENOTCONN, the
    socket is never closed and the garbage collector later warns
    ``ResourceWarning: unclosed socket``. So the socket is taken first and closed here
    whatever close() did. spy:// opens its ``?file=`` log and never closes it.
    """
    sock = getattr(port, "_socket", None)
    log = getattr(getattr(port, "formatter", None), "output", None)
    try:
        port.close()
    except Exception:  # closing a port that already failed is not an error worth raising
        pass
    if sock is not None and hasattr(sock, "close"):
        try:
            sock.close()  # idempotent: a no-op if pyserial managed it
        except OSError:
            pass
    if log is not None and log not in (sys.stdout, sys.stderr):
        log.close()
