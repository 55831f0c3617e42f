"""Bluetooth LE through bleak: scan, connect, Nordic UART lines and ESS values.

Every bleak object is created with the caller's ``backend=`` (``None`` picks the
platform's, exactly as in ``BleakClient(..., backend=...)``), so a simulated
peripheral runs through bleak's real front end. bleak is imported lazily.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from permits.readings import Channel
from sensor_drivers.errors import DriverErrorCode, FrameError, LinkError
from sensor_drivers.protocols import ess, gasl
from sensor_drivers.protocols._common import Frame, StreamStats
from sensor_drivers.protocols.gasl import DeviceInfo
from sensor_drivers.sources import Source, SourceEvent

_ADAPTER_ERRORS_DETAIL = "no usable Bluetooth adapter or system Bluetooth service"


@dataclass(frozen=True, slots=True)
class FoundDetector:
    address: str
    name: str | None
    rssi: int | None
    protocols: tuple[str, ...]  # "gasl" and/or "ess"
    device: Any  # bleak BLEDevice, to connect without a second scan


def _adapter_error(err: BaseException) -> LinkError:
    return LinkError(DriverErrorCode.NO_ADAPTER, type(err).__name__)


async def scan(
    timeout: float = 5.0, name_prefix: str = gasl.NAME_PREFIX, backend: Any = None
) -> list[FoundDetector]:
    """Detectors advertising the ``GASL-`` name prefix, Nordic UART or ESS."""
    from bleak import BleakScanner
    from bleak.exc import BleakError

    try:
        found = await BleakScanner.discover(timeout=timeout, return_adv=True, backend=backend)
    except (BleakError, OSError) as err:
        # No D-Bus, no BlueZ, adapter off or absent: all mean "no adapter" to the user.
        raise _adapter_error(err) from err
    out = []
    for device, adv in found.values():
        uuids = {u.lower() for u in adv.service_uuids}
        name = adv.local_name or device.name
        protocols = []
        if gasl.NUS_SERVICE in uuids or (name or "").startswith(name_prefix):
            protocols.append("gasl")
        if ess.SERVICE_UUID in uuids:
            protocols.append("ess")
        if protocols:
            out.append(FoundDetector(device.address, name, adv.rssi, tuple(protocols), device))
    return sorted(out, key=lambda d: (-(d.rssi or -999), d.address))


class BleSource(Source):
    """One BLE detector: gasl lines over Nordic UART and/or ESS characteristics.

    On an unexpected disconnect it reconnects with exponential backoff; after
    ``reconnect_attempts`` failures it raises ``LinkError(DETECTOR_LOST)``.
    """

    def __init__(
        self,
        address_or_device: Any,
        backend: Any = None,
        device_serial: str | None = None,
        reconnect_attempts: int = 5,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        connect_timeout: float = 10.0,
        ess_poll_s: float = 1.0,
    ) -> None:
        self._target = address_or_device
        self._backend = backend
        address = getattr(address_or_device, "address", address_or_device)
        self.device_serial = device_serial or str(address)
        self._decoder = gasl.LineDecoder()
        self.stats: StreamStats = self._decoder.stats  # ESS values count here too
        self._queue: asyncio.Queue[SourceEvent | None] = asyncio.Queue()
        self._attempts = reconnect_attempts
        self._backoff = backoff_s
        self._backoff_max = backoff_max_s
        self._timeout = connect_timeout
        self._client: Any = None
        self._closing = False
        self.offered_ess: tuple[str, ...] = ()
        self._polled: list[Any] = []  # ESS characteristics that can be read but not notify
        self.ess_poll_s = ess_poll_s

    @property
    def ess_channels(self) -> frozenset[Channel]:
        """Gases the device offers as ESS characteristics (after connecting)."""
        return frozenset(ess.CHARACTERISTICS[u] for u in self.offered_ess)

    def _on_disconnect(self, _client: Any) -> None:
        self.connected = False
        if not self._closing:
            self._queue.put_nowait(None)  # wakes the iterator to reconnect

    def _on_line_chunk(self, _char: Any, data: bytearray) -> None:
        for message in self._decoder.feed(bytes(data)):
            if isinstance(message, Frame | DeviceInfo | FrameError):
                self._queue.put_nowait(message)

    def _on_ess(self, char: Any, data: bytearray) -> None:
        try:
            m = ess.decode_characteristic(char.uuid, bytes(data))
        except FrameError as err:
            self.stats.corrupt_frames += 1
            self._queue.put_nowait(err)
            return
        self.stats.frames += 1
        self._queue.put_nowait(m.frame())

    async def _connect(self) -> None:
        from bleak import BleakClient
        from bleak.exc import BleakError

        client = BleakClient(
            self._target,
            disconnected_callback=self._on_disconnect,
            timeout=self._timeout,
            backend=self._backend,
        )
        try:
            await client.connect()
            services = client.services
            if services.get_service(gasl.NUS_SERVICE) is not None:
                self.expects_info = True
                await client.start_notify(gasl.NUS_TX, self._on_line_chunk)
                await self._write(client, gasl.encode_command("INFO"))
            offered: list[str] = []
            polled: list[Any] = []
            for uuid in ess.CHARACTERISTICS:
                char = services.get_characteristic(uuid)
                if char is None:
                    continue
                offered.append(uuid)
                if "read" in char.properties:  # a value now, not at the next change
                    self._on_ess(char, await client.read_gatt_char(char))
                if "notify" in char.properties:
                    await client.start_notify(char, self._on_ess)
                elif "read" in char.properties:
                    polled.append(char)
            self.offered_ess = tuple(offered)
            self._polled = polled
        except (TimeoutError, BleakError, OSError) as err:
            try:
                await client.disconnect()
            except (BleakError, OSError):
                pass
            raise LinkError(DriverErrorCode.DEVICE_NOT_FOUND, type(err).__name__) from err
        self._client = client
        self.connected = True

    @staticmethod
    async def _write(client: Any, data: bytes) -> None:
        # Stay within one ATT packet per write (MTU minus the 3-byte header).
        size = max(20, int(client.mtu_size) - 3)
        for i in range(0, len(data), size):
            await client.write_gatt_char(gasl.NUS_RX, data[i : i + size], response=False)

    async def _reconnect(self) -> None:
        delay = self._backoff
        for _attempt in range(self._attempts):
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except LinkError:
                delay = min(delay * 2, self._backoff_max)
                continue
            self.reconnects += 1
            return
        raise LinkError(DriverErrorCode.DETECTOR_LOST, f"{self._attempts} reconnects failed")

    async def events(self) -> AsyncIterator[SourceEvent]:
        await self._connect()
        while True:
            try:
                async with asyncio.timeout(self.ess_poll_s):  # keeps a cancel (see session.py)
                    item = await self._queue.get()
            except TimeoutError:
                await self._poll_ess()
                continue
            if item is None:
                if self._closing:
                    return
                await self._reconnect()
                continue
            yield item

    async def _poll_ess(self) -> None:
        from bleak.exc import BleakError

        if self._client is None or not self.connected:
            return
        for char in self._polled:
            try:
                self._on_ess(char, await self._client.read_gatt_char(char))
            except (BleakError, OSError):
                return  # a dropped link arrives through the disconnect callback

    async def request_info(self) -> None:
        if self._client is not None and self.connected:
            await self._write(self._client, gasl.encode_command("INFO"))

    async def close(self) -> None:
        self._closing = True
        self.connected = False
        if self._client is not None:
            from bleak.exc import BleakError

            try:
                await self._client.disconnect()
            except (BleakError, OSError):
                pass
        self._queue.put_nowait(None)
