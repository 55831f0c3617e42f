"""Pure protocol code: bytes or registers in, frames or a typed error out, and the
encoders the simulator uses for the device side. No I/O here."""

from sensor_drivers.protocols import ess, gasl, modbus_gt4, winsen
from sensor_drivers.protocols._common import ChannelValue, Frame, StreamStats

__all__ = ["ChannelValue", "Frame", "StreamStats", "ess", "gasl", "modbus_gt4", "winsen"]
