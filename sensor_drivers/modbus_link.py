"""Modbus RTU reads through minimalmodbus in a worker thread, with bounded retries.

Each request has the port's timeout; a failed request is retried up to
``retries`` more times. The caller sees TIMEOUT or BAD_RESPONSE for a poll that
failed, and DETECTOR_LOST once ``lost_after`` polls in a row have failed.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sensor_drivers.errors import ConfigError, DriverErrorCode, LinkError


class ModbusLink:
    def __init__(self, port: Any, slave: int, retries: int = 2, lost_after: int = 3) -> None:
        import minimalmodbus  # lazily: only Modbus users need it

        if not 1 <= slave <= 247:
            raise ConfigError(DriverErrorCode.INVALID_ARGUMENT, f"slave must be 1-247, got {slave}")
        self._mm = minimalmodbus
        self.instrument = minimalmodbus.Instrument(port, slave, mode=minimalmodbus.MODE_RTU)
        self.instrument.clear_buffers_before_each_transaction = True
        self.retries = retries
        self.lost_after = lost_after
        self.failed_polls = 0
        self.timeouts = 0
        self.bad_responses = 0
        # minimalmodbus keeps per-instrument state: one request at a time.
        self._lock = threading.Lock()

    def _read_blocking(self, address: int, count: int) -> list[int]:
        with self._lock:
            values: list[int] = self.instrument.read_registers(address, count, functioncode=3)
            return values

    async def read_registers(self, address: int, count: int) -> list[int]:
        last: LinkError | None = None
        for _attempt in range(self.retries + 1):
            try:
                values = await asyncio.to_thread(self._read_blocking, address, count)
            except self._mm.NoResponseError as err:
                self.timeouts += 1
                last = LinkError(DriverErrorCode.TIMEOUT, f"slave {self.instrument.address}")
                last.__cause__ = err
            except (self._mm.InvalidResponseError, self._mm.SlaveReportedException) as err:
                # CRC mismatch, wrong length, or an exception frame: the answer is unusable.
                self.bad_responses += 1
                last = LinkError(DriverErrorCode.BAD_RESPONSE, type(err).__name__)
                last.__cause__ = err
            except OSError as err:
                raise LinkError(DriverErrorCode.DETECTOR_LOST, type(err).__name__) from err
            else:
                self.failed_polls = 0
                return values
        self.failed_polls += 1
        assert last is not None
        if self.failed_polls >= self.lost_after:
            raise LinkError(
                DriverErrorCode.DETECTOR_LOST,
                f"{self.failed_polls} polls failed",
                last_error=last.code.value,
            ) from last
        raise last

    def close(self) -> None:
        from sensor_drivers.serial_link import close_port

        if self.instrument.serial is not None:
            close_port(self.instrument.serial)
