"""The one exception root of the drivers, with machine-readable reasons.

Callers branch on ``err.code`` (a :class:`DriverErrorCode`), never on the text;
the text is translated for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sensor_drivers.i18n import gettext as _


class DriverErrorCode(StrEnum):
    # bytes that do not decode (FrameError)
    BAD_CHECKSUM = "BAD_CHECKSUM"
    MALFORMED_FRAME = "MALFORMED_FRAME"
    FRAME_TOO_LONG = "FRAME_TOO_LONG"
    UNKNOWN_GAS = "UNKNOWN_GAS"
    UNKNOWN_UNIT = "UNKNOWN_UNIT"
    VALUE_NOT_AVAILABLE = "VALUE_NOT_AVAILABLE"
    WRONG_DEVICE_TYPE = "WRONG_DEVICE_TYPE"
    # the link (LinkError)
    TIMEOUT = "TIMEOUT"
    BAD_RESPONSE = "BAD_RESPONSE"
    DETECTOR_LOST = "DETECTOR_LOST"
    NO_ADAPTER = "NO_ADAPTER"
    DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"
    PORT_UNAVAILABLE = "PORT_UNAVAILABLE"
    # what a device can measure (CapabilityError)
    CHANNEL_NOT_SUPPORTED = "CHANNEL_NOT_SUPPORTED"
    # caller's mistake (ConfigError)
    INVALID_ARGUMENT = "INVALID_ARGUMENT"


def _messages() -> dict[DriverErrorCode, str]:
    # Built per call so the current language applies.
    return {
        DriverErrorCode.BAD_CHECKSUM: _("frame checksum does not match"),
        DriverErrorCode.MALFORMED_FRAME: _("frame is malformed"),
        DriverErrorCode.FRAME_TOO_LONG: _("line longer than the protocol allows"),
        DriverErrorCode.UNKNOWN_GAS: _("unknown gas code"),
        DriverErrorCode.UNKNOWN_UNIT: _("unknown unit code"),
        DriverErrorCode.VALUE_NOT_AVAILABLE: _("the device reports the value as not available"),
        DriverErrorCode.WRONG_DEVICE_TYPE: _("the device is not of the expected type"),
        DriverErrorCode.TIMEOUT: _("the detector did not answer in time"),
        DriverErrorCode.BAD_RESPONSE: _("the detector's answer failed its CRC or framing check"),
        DriverErrorCode.DETECTOR_LOST: _("detector lost"),
        DriverErrorCode.NO_ADAPTER: _("no Bluetooth adapter found"),
        DriverErrorCode.DEVICE_NOT_FOUND: _("detector not found"),
        DriverErrorCode.PORT_UNAVAILABLE: _("the serial port cannot be opened"),
        DriverErrorCode.CHANNEL_NOT_SUPPORTED: _("the detector cannot measure a required gas"),
        DriverErrorCode.INVALID_ARGUMENT: _("invalid argument"),
    }


class DriverError(Exception):
    """Root of every error the drivers raise; ``code`` says what went wrong."""

    def __init__(self, code: DriverErrorCode, detail: str = "", **facts: Any) -> None:
        self.code = code
        self.detail = detail
        self.facts: Mapping[str, Any] = facts
        super().__init__(self.message())

    def message(self) -> str:
        text = _messages()[self.code]
        return f"{text}: {self.detail}" if self.detail else text

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code.value}
        if self.detail:
            out["detail"] = self.detail
        out.update(self.facts)
        return out


class FrameError(DriverError):
    """Bytes from the device that do not decode; the frame is dropped whole."""


class LinkError(DriverError):
    """The transport failed: timeout, bad response, lost detector, no adapter."""


class CapabilityError(DriverError):
    """The detector cannot measure what the space requires."""


class ConfigError(DriverError):
    """The caller asked for something impossible (bad map name, bad URL)."""
