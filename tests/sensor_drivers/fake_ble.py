"""A simulated BLE world behind bleak's own backend interface (tests only).

``FakeBleakClient`` and ``FakeBleakScanner`` are passed as ``backend=`` to the
REAL ``bleak.BleakClient`` / ``BleakScanner``, so bleak's front end (UUID
normalisation, characteristic lookup, callback wrapping, "not connected" guard,
disconnect callback) stays in the loop. Peripherals notify in chunks of at most
20 bytes, as a default-MTU link does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from permits.readings import Channel
from sensor_drivers.protocols import ess, gasl

CHUNK = 20
PERIPHERALS: dict[str, FakePeripheral] = {}


class FakePeripheral:
    def __init__(
        self,
        address: str,
        name: str,
        nus: bool = True,
        ess_values: dict[Channel, float | None] | None = None,
        info: gasl.DeviceInfo | None = None,
    ) -> None:
        self.address, self.name, self.nus, self.info = address, name, nus, info
        self.ess_values = ess_values or {}
        self.ess_properties: list[Any] = ["read", "notify"]
        self.refuse_connects = 0
        self.connects = 0
        self.written = bytearray()
        self.client: FakeBleakClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        PERIPHERALS[address] = self

    def service_uuids(self) -> list[str]:
        return ([gasl.NUS_SERVICE] if self.nus else []) + (
            [ess.SERVICE_UUID] if self.ess_values else []
        )

    def services(self) -> BleakGATTServiceCollection:
        coll = BleakGATTServiceCollection()
        handle = 1
        chars: list[tuple[str, str, list[Any]]] = []
        if self.nus:
            chars += [
                (gasl.NUS_SERVICE, gasl.NUS_TX, ["notify"]),
                (gasl.NUS_SERVICE, gasl.NUS_RX, ["write-without-response", "write"]),
            ]
        for channel in self.ess_values:
            chars.append((ess.SERVICE_UUID, ess.UUID_OF[channel], list(self.ess_properties)))
        made: dict[str, BleakGATTService] = {}
        for service_uuid, char_uuid, props in chars:
            if service_uuid not in made:
                made[service_uuid] = BleakGATTService(None, handle, service_uuid)
                coll.add_service(made[service_uuid])
                handle += 1
            service = made[service_uuid]
            coll.add_characteristic(
                BleakGATTCharacteristic(None, handle, char_uuid, props, lambda: CHUNK, service)
            )
            handle += 1
        return coll

    # --- device behaviour ------------------------------------------------------------
    async def send(self, uuid: str, data: bytes) -> None:
        client = self.client
        if client is None or not client.is_connected:
            raise BleakError("peripheral not connected")
        callback = client.notify_callbacks[uuid]
        for i in range(0, len(data), CHUNK):
            callback(bytearray(data[i : i + CHUNK]))
            await asyncio.sleep(0)

    async def send_line(self, line: bytes) -> None:
        await self.send(gasl.NUS_TX, line)

    async def send_ess(self, channel: Channel, ppm: float | None) -> None:
        uuid, data = ess.encode_characteristic(channel, ppm)
        await self.send(uuid, data)

    def received(self, data: bytes) -> None:
        self.written += data
        while b"\n" in self.written:
            line, _, rest = bytes(self.written).partition(b"\n")
            self.written = bytearray(rest)
            if gasl.decode_line(line + b"\n") == gasl.Command("INFO") and self.info:
                reply = gasl.encode_info(self.info)
                task = asyncio.get_running_loop().create_task(self.send_line(reply))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def drop(self) -> None:
        """The link drops from the peripheral's side (out of range, battery pulled)."""
        client = self.client
        if client is not None and client.is_connected:
            client.connected = False
            if client._disconnected_callback is not None:
                client._disconnected_callback()


class FakeBleakClient(BaseBleakClient):
    def __init__(self, address_or_ble_device: Any, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self.connected = False
        self.notify_callbacks: dict[str, Callable[[bytearray], None]] = {}

    @property
    def peripheral(self) -> FakePeripheral:
        try:
            return PERIPHERALS[self.address]
        except KeyError:
            raise BleakDeviceNotFoundError(self.address) from None

    @property
    def name(self) -> str:
        return self.peripheral.name

    @property
    def mtu_size(self) -> int:
        return CHUNK + 3

    @property
    def is_connected(self) -> bool:
        return self.connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        peripheral = self.peripheral
        if peripheral.refuse_connects > 0:
            peripheral.refuse_connects -= 1
            raise BleakError("connection refused")
        await asyncio.sleep(0)
        self.services = peripheral.services()
        self.connected = True
        peripheral.client = self
        peripheral.connects += 1

    async def disconnect(self) -> None:
        self.connected = False

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def unpair(self) -> None:
        return None

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        for channel, ppm in self.peripheral.ess_values.items():
            if ess.UUID_OF[channel] == characteristic.uuid:
                return bytearray(ess.encode_characteristic(channel, ppm)[1])
        raise BleakError(f"cannot read {characteristic.uuid}")

    async def read_gatt_descriptor(
        self, descriptor: Any, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        raise BleakError("no descriptors")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        if len(data) > CHUNK:
            raise BleakError("write longer than the MTU allows")
        if characteristic.uuid == gasl.NUS_RX:
            self.peripheral.received(bytes(data))

    async def write_gatt_descriptor(self, descriptor: Any, data: Any) -> None:
        raise BleakError("no descriptors")

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: Callable[[bytearray], None],
        **kwargs: Any,
    ) -> None:
        self.notify_callbacks[characteristic.uuid] = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self.notify_callbacks.pop(characteristic.uuid, None)


class FakeBleakScanner(BaseBleakScanner):
    def __init__(
        self,
        detection_callback: Any = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        self.seen_devices = {}
        for p in PERIPHERALS.values():
            adv = AdvertisementData(
                local_name=p.name,
                manufacturer_data={},
                service_data={},
                service_uuids=p.service_uuids(),
                tx_power=None,
                rssi=-40 - len(self.seen_devices),
                platform_data=(),
            )
            if self.is_allowed_uuid(adv.service_uuids):
                device = self.create_or_update_device(p.address, p.address, p.name, None, adv)
                self.call_detection_callbacks(device, adv)

    async def stop(self) -> None:
        return None
