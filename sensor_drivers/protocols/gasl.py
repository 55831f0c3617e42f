"""``gasl``: NMEA-style ASCII lines (serial or BLE Nordic UART).

``$GASL,<seq>,<uptime_ms>,<ch>:<value>:<unit>[,...],BAT:<pct>,ST:<hh>*<CS>\\r\\n``
with CS the XOR of every byte between ``$`` and ``*``. A line is at most 160
bytes including CR LF. ``$CMD,INFO*CS`` asks for ``$INFO,<serial>,<model>,<fw>,
<cal_due>,<last_bump>*CS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from permits.readings import Channel, StatusFlag, Unit, flags_to_byte
from sensor_drivers.errors import DriverError, DriverErrorCode, FrameError
from sensor_drivers.protocols._common import (
    ChannelValue,
    Frame,
    StreamStats,
    format_value,
    status_from,
)

PROTOCOL = "gasl"
MAX_LINE = 160
SEQ_MODULO = 65536

# Nordic UART Service (BLE)
NUS_SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NUS_RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"  # central writes commands here
NUS_TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"  # device notifies lines here
NAME_PREFIX = "GASL-"

_NUMBER = re.compile(r"-?\d{1,7}(\.\d{1,6})?")
_INT = re.compile(r"\d{1,10}")
_HEX2 = re.compile(r"[0-9A-F]{2}")  # uppercase only, as specified


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    serial: str
    model: str
    firmware: str
    calibration_due: date | None
    last_bump: datetime | None


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # e.g. "INFO"


Message = Frame | DeviceInfo | Command


def checksum(body: bytes) -> int:
    cs = 0
    for b in body:
        cs ^= b
    return cs


def _wrap(body: str) -> bytes:
    raw = body.encode("ascii")
    line = b"$" + raw + b"*" + f"{checksum(raw):02X}".encode() + b"\r\n"
    if len(line) > MAX_LINE:
        raise DriverError(
            DriverErrorCode.INVALID_ARGUMENT, f"line would be {len(line)} bytes, max {MAX_LINE}"
        )
    return line


def encode_line(
    seq: int,
    uptime_ms: int,
    values: Sequence[ChannelValue],
    battery: int,
    status: int | Iterable[StatusFlag] = 0,
) -> bytes:
    """One measurement line. Channel values use ``cv.decimals`` (None: shortest repr)."""
    parts = ["GASL", str(seq % SEQ_MODULO), str(uptime_ms)]
    for cv in values:
        if cv.value is None:
            raise DriverError(DriverErrorCode.INVALID_ARGUMENT, "gasl has no 'not available' value")
        parts.append(f"{cv.channel.value}:{format_value(cv.value, cv.decimals)}:{cv.unit.value}")
    byte = status if isinstance(status, int) else flags_to_byte(status)
    parts.append(f"BAT:{battery}")
    parts.append(f"ST:{byte:02X}")
    return _wrap(",".join(parts))


def encode_command(name: str = "INFO") -> bytes:
    return _wrap(f"CMD,{name}")


def encode_info(info: DeviceInfo) -> bytes:
    cal = info.calibration_due.isoformat() if info.calibration_due else ""
    bump = info.last_bump.isoformat() if info.last_bump else ""
    return _wrap(f"INFO,{info.serial},{info.model},{info.firmware},{cal},{bump}")


def _bad(code: DriverErrorCode, detail: str, line: bytes) -> FrameError:
    return FrameError(code, detail, line=line.decode("ascii", "replace").rstrip("\r\n"))


def decode_line(line: bytes) -> Message:
    """Decode one complete line (with or without CR LF). Raises :class:`FrameError`."""
    stripped = line.rstrip(b"\r\n")
    if len(stripped) + 2 > MAX_LINE:
        raise _bad(DriverErrorCode.FRAME_TOO_LONG, f"{len(stripped) + 2} bytes", line)
    if not stripped.startswith(b"$") or len(stripped) < 4 or stripped[-3:-2] != b"*":
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "expected $...*CS", line)
    body, cs_text = stripped[1:-3], stripped[-2:]
    try:
        text = body.decode("ascii")
        cs_str = cs_text.decode("ascii")
    except UnicodeDecodeError:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "non-ASCII bytes", line) from None
    if not _HEX2.fullmatch(cs_str):
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "checksum is not two hex digits", line)
    if int(cs_str, 16) != checksum(body):
        raise _bad(
            DriverErrorCode.BAD_CHECKSUM,
            f"got {cs_str.upper()}, computed {checksum(body):02X}",
            line,
        )
    fields = text.split(",")
    kind = fields[0]
    if kind == "GASL":
        return _decode_measurement(fields, line)
    if kind == "INFO":
        return _decode_info(fields, line)
    if kind == "CMD" and len(fields) == 2 and fields[1]:
        return Command(fields[1])
    raise _bad(DriverErrorCode.MALFORMED_FRAME, f"unknown sentence {kind!r}", line)


def _decode_measurement(fields: list[str], line: bytes) -> Frame:
    if len(fields) < 5:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "too few fields", line)
    if not (_INT.fullmatch(fields[1]) and _INT.fullmatch(fields[2])):
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "seq and uptime_ms must be integers", line)
    seq, uptime = int(fields[1]), int(fields[2])
    if seq >= SEQ_MODULO:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "seq above 65535", line)
    bat_field, st_field = fields[-2], fields[-1]
    if not (bat_field.startswith("BAT:") and _INT.fullmatch(bat_field[4:])):
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "expected BAT:<pct>", line)
    battery = int(bat_field[4:])
    if battery > 100:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "battery above 100 %", line)
    if not (st_field.startswith("ST:") and _HEX2.fullmatch(st_field[3:])):
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "expected ST:<hh>", line)
    status = status_from(int(st_field[3:], 16))
    values = []
    for item in fields[3:-2]:
        parts = item.split(":")
        if len(parts) != 3 or not _NUMBER.fullmatch(parts[1]):
            raise _bad(DriverErrorCode.MALFORMED_FRAME, f"bad channel field {item!r}", line)
        try:
            channel = Channel(parts[0])
        except ValueError:
            raise _bad(DriverErrorCode.UNKNOWN_GAS, parts[0], line) from None
        try:
            unit = Unit(parts[2])
        except ValueError:
            raise _bad(DriverErrorCode.UNKNOWN_UNIT, parts[2], line) from None
        gas = "CH4" if channel is Channel.LEL else None
        values.append(ChannelValue(channel, float(parts[1]), unit, gas=gas))
    if not values:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "no channel values", line)
    return Frame(PROTOCOL, tuple(values), status, battery, seq, uptime)


def _decode_info(fields: list[str], line: bytes) -> DeviceInfo:
    if len(fields) != 6:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "INFO needs 5 fields", line)
    try:
        cal = date.fromisoformat(fields[4]) if fields[4] else None
        bump = datetime.fromisoformat(fields[5]) if fields[5] else None
    except ValueError:
        raise _bad(DriverErrorCode.MALFORMED_FRAME, "bad date in INFO", line) from None
    return DeviceInfo(fields[1], fields[2], fields[3], cal, bump)


class LineDecoder:
    """Incremental decoder: feed bytes as they arrive, get messages and typed errors.

    Noise before ``$`` is skipped; a line cut short by a new ``$`` or longer than
    160 bytes is dropped whole; a bad checksum is counted and dropped.
    """

    def __init__(self) -> None:
        self.stats = StreamStats()
        self._buf = bytearray()
        self._last_seq: int | None = None

    def feed(self, data: bytes) -> list[Message | FrameError]:
        self._buf += data
        out: list[Message | FrameError] = []
        while True:
            start = self._buf.find(b"$")
            if start < 0:
                self.stats.noise_bytes += len(self._buf)
                self._buf.clear()
                return out
            if start:
                self.stats.noise_bytes += start
                del self._buf[:start]
            end = self._buf.find(b"\n")
            restart = self._buf.find(b"$", 1)
            if restart >= 0 and (end < 0 or restart < end):
                # A new line began before this one ended: the partial line is lost.
                self.stats.dropped_lines += 1
                out.append(
                    FrameError(
                        DriverErrorCode.MALFORMED_FRAME,
                        "line cut short",
                        line=bytes(self._buf[:restart]).decode("ascii", "replace"),
                    )
                )
                del self._buf[:restart]
                continue
            if end < 0:
                if len(self._buf) > MAX_LINE:
                    self.stats.dropped_lines += 1
                    out.append(FrameError(DriverErrorCode.FRAME_TOO_LONG, f"> {MAX_LINE} bytes"))
                    del self._buf[:1]  # hunt for the next '$'
                    continue
                return out
            line = bytes(self._buf[: end + 1])
            del self._buf[: end + 1]
            if len(line) > MAX_LINE:
                self.stats.dropped_lines += 1
                out.append(FrameError(DriverErrorCode.FRAME_TOO_LONG, f"{len(line)} bytes"))
                continue
            try:
                message = decode_line(line)
            except FrameError as err:
                self.stats.corrupt_frames += 1
                out.append(err)
                continue
            if isinstance(message, Frame):
                self._track_seq(message)
                self.stats.frames += 1
            out.append(message)

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished line still waiting for its CR LF."""
        return bytes(self._buf)

    def _track_seq(self, frame: Frame) -> None:
        seq = frame.seq
        assert seq is not None
        if self._last_seq is not None:
            missing = (seq - self._last_seq - 1) % SEQ_MODULO
            if missing >= SEQ_MODULO // 2:
                # Going backwards by a lot (or repeating) is a reboot, not 65000 lost lines.
                self.stats.restarts += 1
            elif missing:
                self.stats.seq_gaps += 1
                self.stats.missing_frames += missing
        self._last_seq = seq
