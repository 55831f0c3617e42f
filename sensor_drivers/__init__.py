"""Gas-detector drivers: pure protocol parsers, serial and BLE transports, detector sessions.

Protocols (``sensor_drivers.protocols``: ``gasl``, ``modbus_gt4``, ``winsen``,
``ess``) are pure: bytes or registers in, :class:`Frame` or a typed error out,
plus the encoders the simulator uses for the device side. Transports only move
bytes. :class:`DetectorSession` turns either into one stream of
``permits.readings.Reading`` with one quality layer.

Exceptions (branch on ``err.code``, a :class:`DriverErrorCode`; never parse text)::

    DriverError                 code: DriverErrorCode, detail, facts
    ├── FrameError              bytes that do not decode; the frame is dropped whole
    │                           BAD_CHECKSUM, MALFORMED_FRAME, FRAME_TOO_LONG, UNKNOWN_GAS,
    │                           UNKNOWN_UNIT, VALUE_NOT_AVAILABLE, WRONG_DEVICE_TYPE
    ├── LinkError               the transport failed
    │                           TIMEOUT, BAD_RESPONSE, DETECTOR_LOST, NO_ADAPTER,
    │                           DEVICE_NOT_FOUND, PORT_UNAVAILABLE
    ├── CapabilityError         CHANNEL_NOT_SUPPORTED (e.g. an ESS-only device and O2/H2S)
    └── ConfigError             INVALID_ARGUMENT (unknown map, bad URL)

Encoders raise ``DriverError(INVALID_ARGUMENT)`` for values a frame cannot carry.
"""

from __future__ import annotations

from sensor_drivers.errors import (
    CapabilityError,
    ConfigError,
    DriverError,
    DriverErrorCode,
    FrameError,
    LinkError,
)
from sensor_drivers.protocols import ChannelValue, Frame, StreamStats
from sensor_drivers.protocols.gasl import DeviceInfo
from sensor_drivers.quality import (
    IssueCode,
    QualityIssue,
    QualityLimits,
    QualityMonitor,
    Severity,
)
from sensor_drivers.session import DetectorSession, Health

__all__ = [
    "CapabilityError",
    "ChannelValue",
    "ConfigError",
    "DetectorSession",
    "DeviceInfo",
    "DriverError",
    "DriverErrorCode",
    "Frame",
    "FrameError",
    "Health",
    "IssueCode",
    "LinkError",
    "QualityIssue",
    "QualityLimits",
    "QualityMonitor",
    "Severity",
    "StreamStats",
]
