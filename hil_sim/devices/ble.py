"""Simulated BLE detectors behind bleak's backend seam.

A :class:`BleBus` is the air between simulated peripherals and centrals. Its
``scanner_backend`` and ``client_backend`` are ``BaseBleakScanner`` /
``BaseBleakClient`` subclasses bound to that bus, for the REAL bleak front end::

    scanner = BleakScanner(backend=sim.ble.scanner_backend)
    client = BleakClient(address, backend=sim.ble.client_backend)

A peripheral advertises ``GASL-xxxx`` with the Nordic UART service, sends each
gasl line as notifications of at most 20 bytes (MTU 23) after a latency, answers
``$CMD,INFO`` written to RX, refuses the first ``ble_connect_failures`` connects,
and drops every connection (calling bleak's disconnected callback) while a link
drop is on its timeline or its battery is flat.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from hil_sim.devices.model import DetectorModel, DeviceOutput
from hil_sim.devices.stream import gasl_info, gasl_line
from sensor_drivers.protocols import gasl

MTU = 23
CHUNK = MTU - 3  # ATT header
CCCD = "00002902-0000-1000-8000-00805f9b34fb"


def ble_name(serial: str) -> str:
    return serial if serial.startswith(gasl.NAME_PREFIX) else f"{gasl.NAME_PREFIX}{serial[-4:]}"


class SimPeripheral:
    def __init__(self, model: DetectorModel, address: str, now: Any) -> None:
        self.model = model
        self.address = address
        self.name = ble_name(model.spec.serial)
        self._now = now
        self.connect_failures_left = model.spec.ble_connect_failures
        self.latency_s = model.spec.ble_latency_ms / 1000.0
        self.clients: set[SimBleakClient] = set()
        self._lock = threading.Lock()

    def emit(self, out: DeviceOutput) -> None:
        if not out.online:
            self.drop_all()
            return
        if out.silent:
            return
        self.notify(gasl_line(out))

    def notify(self, data: bytes) -> None:
        for client in list(self.clients):
            client._deliver(data)

    def drop_all(self) -> None:
        for client in list(self.clients):
            client._link_lost()

    def command(self, data: bytes) -> None:
        t = self._now()
        if not self.model.link_up(t):
            return
        start = data.find(b"$")
        if start < 0:
            return
        try:
            message = gasl.decode_line(data[start:])
        except Exception:  # a garbled command is ignored, as a device would
            return
        if isinstance(message, gasl.Command) and message.name == "INFO":
            self.notify(gasl_info(self.model))


class BleBus:
    """The simulated air: peripherals by address, and backends bound to them."""

    def __init__(self) -> None:
        self.peripherals: dict[str, SimPeripheral] = {}
        bus = self

        class _Scanner(SimBleakScanner):
            _bus = bus

        class _Client(SimBleakClient):
            _bus = bus

        _Scanner.__name__ = "SimBleakScanner"
        _Client.__name__ = "SimBleakClient"
        self.scanner_backend: type[BaseBleakScanner] = _Scanner
        self.client_backend: type[BaseBleakClient] = _Client

    def add(self, model: DetectorModel, now: Any) -> SimPeripheral:
        index = len(self.peripherals) + 1
        address = f"5A:1A:00:00:{index // 256:02X}:{index % 256:02X}"
        peripheral = SimPeripheral(model, address, now)
        self.peripherals[address] = peripheral
        return peripheral

    def by_name(self, name: str) -> SimPeripheral | None:
        for p in self.peripherals.values():
            if p.name == name:
                return p
        return None


class SimBleakScanner(BaseBleakScanner):
    _bus: BleBus

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._task = asyncio.create_task(self._advertise())

    async def _advertise(self) -> None:
        # Peripherals advertise about every 100 ms.
        while True:
            for peripheral in list(self._bus.peripherals.values()):
                if not peripheral.model.link_up(peripheral._now()):
                    continue
                adv = AdvertisementData(
                    local_name=peripheral.name,
                    manufacturer_data={},
                    service_data={},
                    service_uuids=[gasl.NUS_SERVICE],
                    tx_power=None,
                    rssi=-60,
                    platform_data=(),
                )
                if not self.is_allowed_uuid(adv.service_uuids):
                    continue
                device = self.create_or_update_device(
                    peripheral.address, peripheral.address, peripheral.name, peripheral, adv
                )
                self.call_detection_callbacks(device, adv)
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def _services() -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()
    service = BleakGATTService(None, 1, gasl.NUS_SERVICE)
    services.add_service(service)
    rx = BleakGATTCharacteristic(
        None, 2, gasl.NUS_RX, ["write", "write-without-response"], lambda: CHUNK, service
    )
    tx = BleakGATTCharacteristic(None, 4, gasl.NUS_TX, ["notify"], lambda: CHUNK, service)
    services.add_characteristic(rx)
    services.add_characteristic(tx)
    services.add_descriptor(BleakGATTDescriptor(None, 5, CCCD, tx))
    return services


class SimBleakClient(BaseBleakClient):
    _bus: BleBus

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
            **kwargs,
        )
        self._peripheral: SimPeripheral | None = None
        self._connected = False
        self._notify: NotifyCallback | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def name(self) -> str:
        p = self._bus.peripherals.get(self.address)
        return p.name if p is not None else self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return MTU

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        peripheral = self._bus.peripherals.get(self.address)
        await asyncio.sleep(0.01)  # connection setup takes a little while
        if peripheral is None or not peripheral.model.link_up(peripheral._now()):
            raise BleakError(f"Device with address {self.address} was not found")
        if peripheral.connect_failures_left > 0:
            peripheral.connect_failures_left -= 1
            raise BleakError("simulated connection failure (status 0x3e)")
        self._loop = asyncio.get_running_loop()
        self._peripheral = peripheral
        self.services = _services()
        self._connected = True
        peripheral.clients.add(self)

    async def disconnect(self) -> None:
        self._close()

    def _close(self) -> None:
        self._connected = False
        self._notify = None
        if self._peripheral is not None:
            self._peripheral.clients.discard(self)
            self._peripheral = None

    def _link_lost(self) -> None:
        if not self._connected:
            return
        loop = self._loop
        self._close()
        if self._disconnected_callback is not None and loop is not None:
            loop.call_soon_threadsafe(self._disconnected_callback)

    def _deliver(self, data: bytes) -> None:
        loop, callback = self._loop, self._notify
        if loop is None or callback is None or loop.is_closed():
            return
        latency = self._peripheral.latency_s if self._peripheral is not None else 0.0
        chunks = [bytearray(data[i : i + CHUNK]) for i in range(0, len(data), CHUNK)]

        def send() -> None:
            for chunk in chunks:
                if self._connected and self._notify is not None:
                    self._notify(chunk)

        try:
            loop.call_soon_threadsafe(loop.call_later, latency, send)
        except RuntimeError:
            pass  # the central's loop has closed

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def unpair(self) -> None:
        return None

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        raise BleakError(f"characteristic {characteristic.uuid} does not support read")

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(b"\x01\x00" if self._notify is not None else b"\x00\x00")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        if not self._connected or self._peripheral is None:
            raise BleakError("Not connected")
        if characteristic.uuid != gasl.NUS_RX:
            raise BleakError(f"characteristic {characteristic.uuid} is not writable")
        if len(data) > CHUNK:
            raise BleakError(f"write of {len(data)} bytes exceeds the MTU")
        self._peripheral.command(bytes(data))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("descriptor writes go through start_notify")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        if characteristic.uuid != gasl.NUS_TX:
            raise BleakError(f"characteristic {characteristic.uuid} does not notify")
        self._notify = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._notify = None
