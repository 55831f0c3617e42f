"""``modbus-gt4`` and vendor-map transmitters: pymodbus 3.16's ``ModbusSerialServer``
behind a byte-level bridge.

::

    driver ── public port (pty or socket://) ── bridge ── internal pty ── ModbusSerialServer

pymodbus answers a request for a slave id it does not hold with an exception frame;
a real RS-485 transmitter stays silent. The bridge therefore forwards only whole,
CRC-valid requests for this transmitter's slave id and drops everything else. It is
also where link faults act: silence and link drop swallow requests, CRC errors and
garbage corrupt the answer. Register values are computed from the model at the
moment each request arrives (pymodbus's ``action`` hook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty
from collections.abc import Callable
from typing import Any

from hil_sim.devices.model import DetectorModel
from hil_sim.devices.ports import Port
from hil_sim.errors import DeviceError, SimErrorCode
from hil_sim.scenario import FaultKind
from permits.readings import StatusFlag, flags_from_byte
from sensor_drivers.protocols import modbus_gt4

# Request lengths of the fixed-size Modbus RTU functions (address, fc, 4 bytes, CRC).
_FIXED = {1, 2, 3, 4, 5, 6}
_VARIABLE = {15, 16}  # 7 header bytes + byte count + CRC


def crc16(data: bytes) -> bytes:
    """Modbus RTU CRC (poly 0xA001, init 0xFFFF), low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def split_requests(buf: bytearray) -> list[bytes]:
    """Take every complete, CRC-valid RTU request out of ``buf``; skip noise a byte at a
    time; leave an incomplete request in place."""
    out = []
    while len(buf) >= 4:
        fc = buf[1]
        if fc in _FIXED:
            size = 8
        elif fc in _VARIABLE:
            if len(buf) < 7:
                break
            size = 9 + buf[6]
        else:
            del buf[0]
            continue
        if len(buf) < size:
            break
        frame = bytes(buf[:size])
        if crc16(frame[:-2]) == frame[-2:]:
            out.append(frame)
            del buf[:size]
        else:
            del buf[0]
    return out


def _firmware_word(text: str) -> int:
    major, _, minor = text.partition(".")
    try:
        return (int(major) << 8) | int(minor or 0)
    except ValueError:
        return 0x0100


class ModbusDevice:
    def __init__(self, model: DetectorModel, port: Port, now: Callable[[], float]) -> None:
        self.model = model
        self.port = port
        self._now = now
        spec = model.spec
        self.slave_id = spec.slave_id
        self._vmap = None if spec.vendor_map == "gt4" else modbus_gt4.vendor_map(spec.vendor_map)
        if self._vmap is None:
            size = modbus_gt4.channel_address(len(spec.channels) - 1) + modbus_gt4.CHANNEL_STRIDE
        else:
            size = self._vmap.start + self._vmap.count
        self._size = size
        self._rx = bytearray()
        self._server: Any = None
        self._inner_master = -1
        self._inner_slave = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self.requests_dropped = 0
        self._link_up = True

    # --- register image --------------------------------------------------------------

    def image(self, t: float) -> list[int]:
        out = self.model.output(t)
        if self._vmap is None:
            regs = modbus_gt4.register_image(
                out.values, out.status, _firmware_word(self.model.spec.firmware)
            )
            return regs + [0] * (self._size - len(regs))
        flags = flags_from_byte(out.status)
        names = [f.value for f in flags]
        fault_number = 0
        if StatusFlag.FAULT in flags and self._vmap.fault_range is not None:
            fault_number = self._vmap.fault_range[0]  # the first fault number in the map
        if StatusFlag.FAULT in flags and self._vmap.fault_number_address is None:
            value: float | None = None  # a map with no fault word says "not available"
        else:
            value = out.values[0].value
        regs = [0] * self._size
        regs[self._vmap.start :] = modbus_gt4.vendor_image(self._vmap, value, fault_number, names)
        return regs

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: Any,
    ) -> None:
        image = self.image(self._now())
        for i in range(len(current_registers)):
            a = start_address + i
            if 0 <= a < len(image):
                current_registers[i] = image[a]
        return None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusSerialServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        # pymodbus logs every request it cannot serve at ERROR; the bridge already
        # keeps those away, and the rest is noise on a simulator's console.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        self._loop = asyncio.get_running_loop()
        self._inner_master, self._inner_slave = os.openpty()
        tty.setraw(self._inner_master)
        tty.setraw(self._inner_slave)
        os.set_blocking(self._inner_master, False)
        device = SimDevice(
            id=self.slave_id,
            simdata=[SimData(address=0, values=[0] * self._size, datatype=DataType.REGISTERS)],
            action=self._action,
        )
        # Parity N: this kernel refuses even parity on ptys (docs/protocols.md, vendor maps).
        self._server = ModbusSerialServer(
            device,
            framer=FramerType.RTU,
            port=os.ttyname(self._inner_slave),
            baudrate=self.model.spec.baudrate,
            parity="N",
        )
        try:
            await self._server.serve_forever(background=True)  # returns once listening
        except (RuntimeError, OSError) as err:
            raise DeviceError(SimErrorCode.DEVICE_START_FAILED, f"Modbus server: {err}") from err
        self._loop.add_reader(self._inner_master, self._on_response)
        await self.port.open(self._on_request)

    async def stop(self) -> None:
        if self._loop is not None and self._inner_master >= 0:
            self._loop.remove_reader(self._inner_master)
        if self._server is not None:
            with contextlib.suppress(Exception):
                # generous: a shutdown cut short leaves pymodbus's transport open
                await asyncio.wait_for(self._server.shutdown(), 30.0)
        await self.port.close()
        for fd in (self._inner_master, self._inner_slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- the bridge ------------------------------------------------------------------

    def sync_link(self, t: float) -> None:
        """A link drop closes socket connections and refuses new ones while it lasts."""
        up = FaultKind.LINK_DROP not in {f.kind for f in self.model.active_faults(t)}
        if up != self._link_up:
            self._link_up = up
            self.port.accepting(up)
            if not up:
                self.port.drop_link()

    def _kinds(self) -> set[FaultKind]:
        return {f.kind for f in self.model.active_faults(self._now())}

    def _answers(self) -> bool:
        """The transmitter answers at all: no link drop, no silence, battery not flat."""
        return self.model.link_up(self._now())

    def _on_request(self, data: bytes) -> None:
        self._rx += data
        for frame in split_requests(self._rx):
            if frame[0] != self.slave_id or not self._answers():
                self.requests_dropped += 1
                continue
            with contextlib.suppress(OSError):
                os.write(self._inner_master, frame)

    def _on_response(self) -> None:
        try:
            data = os.read(self._inner_master, 4096)
        except OSError:
            return
        if not self._answers():  # a flat battery silences it like a SILENCE fault
            return
        kinds = self._kinds()
        if FaultKind.CRC_ERROR in kinds and len(data) > 2:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        if FaultKind.GARBAGE in kinds:
            out = self.model.output(self._now())
            data = out.garbage + data
        self.port.write(data)
