"""``winsen-uart``: single-gas modules sending 9-byte frames.

Active upload: ``FF gas unit decimals concH concL fsH fsL CS`` with
CS = (~(byte1 + ... + byte7) + 1) & 0xFF. Question and answer: the host sends
:data:`QUERY` and the module answers ``FF 86 concH concL 00 00 00 00 CS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from permits.readings import Channel, Unit
from sensor_drivers.errors import DriverError, DriverErrorCode, FrameError
from sensor_drivers.protocols._common import ChannelValue, Frame, StreamStats

PROTOCOL = "winsen-uart"
FRAME_LEN = 9
START = 0xFF
ANSWER_COMMAND = 0x86

GAS_CODES: dict[int, Channel] = {
    0x02: Channel.NH3,
    0x03: Channel.H2S,
    0x04: Channel.CO,
    0x05: Channel.O2,
    0x06: Channel.H2,
    0x2B: Channel.SO2,
    0x31: Channel.Cl2,
}
GAS_CODE_OF: dict[Channel, int] = {ch: code for code, ch in GAS_CODES.items()}

# This project's unit table. ppb has no Unit of its own: values are converted to ppm.
UNIT_PPM, UNIT_VOL, UNIT_PPB, UNIT_LEL = 0x02, 0x03, 0x04, 0x05
UNIT_CODES: dict[int, Unit] = {UNIT_PPM: Unit.PPM, UNIT_VOL: Unit.VOL, UNIT_LEL: Unit.LEL}
UNIT_CODE_OF: dict[Unit, int] = {u: code for code, u in UNIT_CODES.items()}


def checksum(frame: bytes) -> int:
    return (~sum(frame[1:8]) + 1) & 0xFF


def _seal(body: bytes) -> bytes:
    return body + bytes([checksum(body + b"\x00")])


QUERY = _seal(bytes([START, 0x01, ANSWER_COMMAND, 0, 0, 0, 0, 0]))  # FF 01 86 00 00 00 00 00 79


@dataclass(frozen=True, slots=True)
class Answer:
    """Reply to :data:`QUERY`: the raw concentration only (gas, unit, decimals are known
    from the module's configuration or an earlier active-upload frame)."""

    concentration_raw: int


def _scaled(value: float, decimals: int, name: str) -> int:
    scale: int = 10**decimals
    raw = round(value * scale)
    if not 0 <= raw <= 0xFFFF:
        raise DriverError(
            DriverErrorCode.INVALID_ARGUMENT,
            f"{name} {value} does not fit 16 bits at {decimals} dp",
        )
    return raw


def encode_frame(
    channel: Channel,
    unit: Unit,
    value: float,
    full_scale: float,
    decimals: int = 0,
    unit_code: int | None = None,
) -> bytes:
    """An active-upload frame. ``unit_code`` overrides the code (e.g. ppb, 0x04)."""
    if channel not in GAS_CODE_OF:
        raise DriverError(DriverErrorCode.INVALID_ARGUMENT, f"winsen has no gas code for {channel}")
    code = unit_code if unit_code is not None else UNIT_CODE_OF.get(unit)
    if code is None:
        raise DriverError(DriverErrorCode.INVALID_ARGUMENT, f"winsen has no unit code for {unit}")
    if not 0 <= decimals <= 0xFF:
        raise DriverError(DriverErrorCode.INVALID_ARGUMENT, "decimals must be 0-255")
    conc = _scaled(value, decimals, "value")
    fs = _scaled(full_scale, decimals, "full_scale")
    return _seal(
        bytes(
            [
                START,
                GAS_CODE_OF[channel],
                code,
                decimals,
                conc >> 8,
                conc & 0xFF,
                fs >> 8,
                fs & 0xFF,
            ]
        )
    )


def encode_answer(concentration_raw: int) -> bytes:
    if not 0 <= concentration_raw <= 0xFFFF:
        raise DriverError(DriverErrorCode.INVALID_ARGUMENT, "concentration must fit 16 bits")
    hi, lo = concentration_raw >> 8, concentration_raw & 0xFF
    return _seal(bytes([START, ANSWER_COMMAND, hi, lo, 0, 0, 0, 0]))


def _check(frame: bytes) -> None:
    if len(frame) != FRAME_LEN or frame[0] != START:
        raise FrameError(
            DriverErrorCode.MALFORMED_FRAME, "expected 9 bytes starting FF", raw=frame.hex(" ")
        )
    if checksum(frame) != frame[8]:
        raise FrameError(
            DriverErrorCode.BAD_CHECKSUM,
            f"got {frame[8]:02X}, computed {checksum(frame):02X}",
            raw=frame.hex(" "),
        )


def decode_frame(frame: bytes) -> Frame:
    """Decode one active-upload frame. Raises :class:`FrameError`."""
    _check(frame)
    gas, unit_code, decimals = frame[1], frame[2], frame[3]
    if gas not in GAS_CODES:
        raise FrameError(DriverErrorCode.UNKNOWN_GAS, f"0x{gas:02X}", raw=frame.hex(" "))
    conc = (frame[4] << 8) | frame[5]
    fs = (frame[6] << 8) | frame[7]
    if decimals > 6:
        raise FrameError(
            DriverErrorCode.MALFORMED_FRAME, f"decimals {decimals}", raw=frame.hex(" ")
        )
    scale = 10**decimals
    if unit_code == UNIT_PPB:
        unit, scale = Unit.PPM, scale * 1000
    elif unit_code in UNIT_CODES:
        unit = UNIT_CODES[unit_code]
    else:
        raise FrameError(DriverErrorCode.UNKNOWN_UNIT, f"0x{unit_code:02X}", raw=frame.hex(" "))
    channel = GAS_CODES[gas]
    cv = ChannelValue(
        channel,
        conc / scale,
        unit,
        full_scale=fs / scale,
        decimals=decimals,
    )
    return Frame(PROTOCOL, (cv,))


def decode_answer(frame: bytes) -> Answer:
    _check(frame)
    if frame[1] != ANSWER_COMMAND:
        raise FrameError(DriverErrorCode.MALFORMED_FRAME, "not a 0x86 answer", raw=frame.hex(" "))
    return Answer((frame[2] << 8) | frame[3])


class FrameDecoder:
    """Incremental decoder: hunts for 0xFF followed by 8 bytes with a valid checksum.

    A candidate that fails its checksum costs one byte of hunting, so a frame
    straight after garbage is still found. Where a frame was due (at the start or
    right after a good frame) the failure is reported as a typed error and counted
    as corrupt; while hunting inside garbage it only counts as noise. A live link
    may be joined mid-frame, so it starts hunting; a capture that starts on a frame
    boundary passes ``aligned_start=True`` so a bad first frame is reported.
    """

    def __init__(self, aligned_start: bool = False) -> None:
        self.stats = StreamStats()
        self._buf = bytearray()
        self._aligned = aligned_start

    def feed(self, data: bytes) -> list[Frame | Answer | FrameError]:
        self._buf += data
        out: list[Frame | Answer | FrameError] = []
        while True:
            start = self._buf.find(START)
            if start < 0:
                self.stats.noise_bytes += len(self._buf)
                self._buf.clear()
                return out
            if start:
                self.stats.noise_bytes += start
                self._aligned = False
                del self._buf[:start]
            if len(self._buf) < FRAME_LEN:
                return out
            candidate = bytes(self._buf[:FRAME_LEN])
            if checksum(candidate) != candidate[8]:
                if self._aligned:
                    self.stats.corrupt_frames += 1
                    out.append(
                        FrameError(
                            DriverErrorCode.BAD_CHECKSUM,
                            f"got {candidate[8]:02X}, computed {checksum(candidate):02X}",
                            raw=candidate.hex(" "),
                        )
                    )
                    self._aligned = False
                self.stats.noise_bytes += 1
                del self._buf[:1]
                continue
            del self._buf[:FRAME_LEN]
            self._aligned = True
            try:
                if candidate[1] == ANSWER_COMMAND:
                    out.append(decode_answer(candidate))
                else:
                    out.append(decode_frame(candidate))
                    self.stats.frames += 1
            except FrameError as err:
                self.stats.corrupt_frames += 1
                out.append(err)
