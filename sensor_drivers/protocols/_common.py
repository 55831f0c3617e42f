"""The decoded shape every protocol produces, and its conversion to readings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from permits.readings import Channel, Reading, StatusFlag, Unit, flags_from_byte


@dataclass(frozen=True, slots=True)
class ChannelValue:
    """One channel in one frame. ``value`` None means the device said "not available"."""

    channel: Channel
    value: float | None
    unit: Unit
    status: frozenset[StatusFlag] = frozenset()
    full_scale: float | None = None
    gas: str | None = None  # calibration gas of a %LEL channel
    decimals: int | None = None  # digits to send when encoding; None = shortest repr


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: channel values plus what the device said about itself."""

    protocol: str
    values: tuple[ChannelValue, ...]
    status: frozenset[StatusFlag] = frozenset()
    battery: int | None = None
    seq: int | None = None
    device_time_ms: int | None = None

    def readings(self, device_serial: str, received_at: datetime | None = None) -> list[Reading]:
        """Readings for every channel that carries a number; unavailable ones are left out
        (the quality layer reports them, so a missing value never looks like clean air)."""
        out = []
        for cv in self.values:
            if cv.value is None:
                continue
            out.append(
                Reading(
                    device_serial=device_serial,
                    channel=cv.channel,
                    value=cv.value,
                    unit=cv.unit,
                    status=self.status | cv.status,
                    received_at=received_at,
                    device_time_ms=self.device_time_ms,
                    gas=cv.gas,
                )
            )
        return out

    def unavailable(self) -> list[Channel]:
        return [cv.channel for cv in self.values if cv.value is None]


@dataclass(slots=True)
class StreamStats:
    """Counters a stream decoder keeps; the session's health reports them."""

    frames: int = 0
    corrupt_frames: int = 0  # bad checksum, malformed, unknown codes
    dropped_lines: int = 0  # too long, or cut short by the next start byte
    noise_bytes: int = 0  # bytes skipped while hunting for a frame start
    seq_gaps: int = 0  # number of gaps in the sequence numbers
    missing_frames: int = 0  # frames lost inside those gaps
    restarts: int = 0  # sequence went backwards (device reboot)


def status_from(flags: int | Iterable[StatusFlag]) -> frozenset[StatusFlag]:
    if isinstance(flags, int):
        return flags_from_byte(flags)
    return frozenset(flags)


def format_value(value: float, decimals: int | None) -> str:
    if decimals is None:
        text = repr(float(value))
        return text
    return f"{value:.{decimals}f}"
