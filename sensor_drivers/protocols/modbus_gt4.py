"""``modbus-gt4``: a generic multi-gas transmitter's holding registers, plus
declarative vendor maps (``data/modbus_maps.toml``) decoded by the same code.

Header 0x0000 type 0x4754 "GT", 0x0001 firmware (major<<8|minor), 0x0002 device
status, 0x0003 channel count N (1-8). Channel i at 0x0010 + 8·i: gas code, unit
code, decimals, raw value (0xFFFF = not available), channel status, float32 ABCD.
"""

from __future__ import annotations

import math
import struct
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from permits.readings import Channel, StatusFlag, Unit, flags_to_byte
from sensor_drivers.errors import ConfigError, DriverError, DriverErrorCode, FrameError
from sensor_drivers.protocols._common import ChannelValue, Frame, status_from

PROTOCOL = "modbus-gt4"
DEVICE_TYPE = 0x4754
REG_TYPE, REG_FIRMWARE, REG_STATUS, REG_COUNT = 0, 1, 2, 3
HEADER_COUNT = 4
CHANNEL_BASE = 0x0010
CHANNEL_STRIDE = 8
CHANNEL_WORDS = 7  # words 0..6 used in each 8-word block
MAX_CHANNELS = 8
NOT_AVAILABLE = 0xFFFF

# gas code -> (channel, calibration gas of a %LEL channel)
GAS_CODES: dict[int, tuple[Channel, str | None]] = {
    1: (Channel.O2, None),
    2: (Channel.LEL, "CH4"),
    3: (Channel.H2S, None),
    4: (Channel.CO, None),
    5: (Channel.CO2, None),
    6: (Channel.NH3, None),
    7: (Channel.Cl2, None),
    8: (Channel.SO2, None),
    9: (Channel.NO2, None),
    10: (Channel.CH4, None),
    11: (Channel.H2, None),
    12: (Channel.C3H8, None),
}
GAS_CODE_OF: dict[Channel, int] = {ch: code for code, (ch, _gas) in GAS_CODES.items()}
UNIT_CODES: dict[int, Unit] = {1: Unit.VOL, 2: Unit.LEL, 3: Unit.PPM, 4: Unit.MG_M3}
UNIT_CODE_OF: dict[Unit, int] = {u: code for code, u in UNIT_CODES.items()}


def float_to_words(value: float) -> tuple[int, int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return hi, lo


def words_to_float(hi: int, lo: int) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", hi & 0xFFFF, lo & 0xFFFF))[0]
    return value


def channel_address(index: int) -> int:
    return CHANNEL_BASE + CHANNEL_STRIDE * index


def register_image(
    channels: Sequence[ChannelValue],
    status: int | Sequence[StatusFlag] = 0,
    firmware: int = 0x0100,
) -> list[int]:
    """Holding registers 0 .. end of the last channel block, as the device holds them.

    ``cv.decimals`` (default 1) scales the raw value; ``cv.value`` None writes 0xFFFF
    and a NaN float.
    """
    if not 1 <= len(channels) <= MAX_CHANNELS:
        raise DriverError(DriverErrorCode.INVALID_ARGUMENT, "1 to 8 channels")
    regs = [0] * (channel_address(len(channels) - 1) + CHANNEL_STRIDE)
    regs[REG_TYPE] = DEVICE_TYPE
    regs[REG_FIRMWARE] = firmware & 0xFFFF
    regs[REG_STATUS] = status if isinstance(status, int) else flags_to_byte(status)
    regs[REG_COUNT] = len(channels)
    for i, cv in enumerate(channels):
        base = channel_address(i)
        decimals = 1 if cv.decimals is None else cv.decimals
        if not 0 <= decimals <= 3:
            raise DriverError(DriverErrorCode.INVALID_ARGUMENT, "decimals must be 0-3")
        if cv.value is None:
            raw, as_float = NOT_AVAILABLE, math.nan
        else:
            raw = round(cv.value * 10**decimals)
            if not 0 <= raw < NOT_AVAILABLE:
                raise DriverError(
                    DriverErrorCode.INVALID_ARGUMENT,
                    f"{cv.channel} value {cv.value} does not fit at {decimals} dp",
                )
            as_float = cv.value
        hi, lo = float_to_words(as_float)
        regs[base : base + CHANNEL_WORDS] = [
            GAS_CODE_OF[cv.channel],
            UNIT_CODE_OF[cv.unit],
            decimals,
            raw,
            flags_to_byte(cv.status),
            hi,
            lo,
        ]
    return regs


@dataclass(frozen=True, slots=True)
class Header:
    firmware: str
    status: frozenset[StatusFlag]
    channel_count: int


def decode_header(regs: Sequence[int]) -> Header:
    if len(regs) < HEADER_COUNT:
        raise FrameError(DriverErrorCode.MALFORMED_FRAME, "header needs 4 registers")
    if regs[REG_TYPE] != DEVICE_TYPE:
        raise FrameError(
            DriverErrorCode.WRONG_DEVICE_TYPE, f"0x{regs[REG_TYPE]:04X}, expected 0x4754"
        )
    count = regs[REG_COUNT]
    if not 1 <= count <= MAX_CHANNELS:
        raise FrameError(DriverErrorCode.MALFORMED_FRAME, f"channel count {count}")
    fw = regs[REG_FIRMWARE]
    return Header(f"{fw >> 8}.{fw & 0xFF}", status_from(regs[REG_STATUS] & 0xFF), count)


def decode_channel(block: Sequence[int]) -> ChannelValue:
    """One channel block (at least 7 words)."""
    if len(block) < CHANNEL_WORDS:
        raise FrameError(DriverErrorCode.MALFORMED_FRAME, "channel block needs 7 registers")
    gas_code, unit_code, decimals, raw, flags = block[0], block[1], block[2], block[3], block[4]
    if gas_code not in GAS_CODES:
        raise FrameError(DriverErrorCode.UNKNOWN_GAS, f"gas code {gas_code}")
    if unit_code not in UNIT_CODES:
        raise FrameError(DriverErrorCode.UNKNOWN_UNIT, f"unit code {unit_code}")
    if decimals > 3:
        raise FrameError(DriverErrorCode.MALFORMED_FRAME, f"decimals {decimals}")
    channel, gas = GAS_CODES[gas_code]
    value = None if raw == NOT_AVAILABLE else raw / 10**decimals
    return ChannelValue(
        channel, value, UNIT_CODES[unit_code], status_from(flags & 0xFF), gas=gas, decimals=decimals
    )


def decode_image(regs: Sequence[int]) -> tuple[Header, Frame]:
    """Decode registers read from address 0 through the last channel block."""
    header = decode_header(regs)
    values = []
    for i in range(header.channel_count):
        base = channel_address(i)
        block = regs[base : base + CHANNEL_WORDS]
        values.append(decode_channel(block))
    return header, Frame(PROTOCOL, tuple(values), header.status)


# --- vendor maps ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VendorMap:
    name: str
    source: str
    start: int
    count: int
    value_address: int
    value_kind: str
    fault_number_address: int | None = None
    fault_range: tuple[int, int] | None = None
    warning_range: tuple[int, int] | None = None
    flags_address: int | None = None
    flag_bits: Mapping[int, str] = field(default_factory=dict)
    default_slave: int = 1
    default_baudrate: int = 9600
    default_parity: str = "N"


_MAPS = Path(__file__).resolve().parent.parent / "data" / "modbus_maps.toml"


@cache
def vendor_maps() -> dict[str, VendorMap]:
    with _MAPS.open("rb") as f:
        data = tomllib.load(f)["maps"]
    out = {}
    for name, m in data.items():
        fault = (m["fault_min"], m["fault_max"]) if "fault_min" in m else None
        warning = (m["warning_min"], m["warning_max"]) if "warning_min" in m else None
        out[name] = VendorMap(
            name=name,
            source=m["source"],
            start=m["start"],
            count=m["count"],
            value_address=m["value_address"],
            value_kind=m["value_kind"],
            fault_number_address=m.get("fault_number_address"),
            fault_range=fault,
            warning_range=warning,
            flags_address=m.get("flags_address"),
            flag_bits={int(k): str(v) for k, v in m.get("flag_bits", {}).items()},
            default_slave=m["default_slave"],
            default_baudrate=m["default_baudrate"],
            default_parity=m["default_parity"],
        )
    return out


def vendor_map(name: str) -> VendorMap:
    try:
        return vendor_maps()[name]
    except KeyError:
        raise ConfigError(
            DriverErrorCode.INVALID_ARGUMENT,
            f"map {name!r}; known: {', '.join(sorted(vendor_maps()))}",
        ) from None


@dataclass(frozen=True, slots=True)
class VendorState:
    frame: Frame
    fault_number: int | None
    warning: bool


def decode_vendor(
    vmap: VendorMap, regs: Sequence[int], channel: Channel, unit: Unit, gas: str | None = None
) -> VendorState:
    """Decode ``vmap.count`` registers read from ``vmap.start``. The map does not say which
    sensor is fitted, so the caller names the channel and unit."""
    if len(regs) < vmap.count:
        raise FrameError(
            DriverErrorCode.MALFORMED_FRAME, f"{vmap.name} needs {vmap.count} registers"
        )

    def reg(address: int) -> int:
        return regs[address - vmap.start]

    if vmap.value_kind == "float32_abcd":
        number = words_to_float(reg(vmap.value_address), reg(vmap.value_address + 1))
        value: float | None = None if not math.isfinite(number) else number
    else:
        raw = reg(vmap.value_address)
        value = None if raw == NOT_AVAILABLE else float(raw)
    flags: set[StatusFlag] = set()
    warning = False
    fault_number = None
    if vmap.fault_number_address is not None:
        fault_number = reg(vmap.fault_number_address)
        if vmap.fault_range and vmap.fault_range[0] <= fault_number <= vmap.fault_range[1]:
            flags.add(StatusFlag.FAULT)
        elif vmap.warning_range and vmap.warning_range[0] <= fault_number <= vmap.warning_range[1]:
            warning = True
    if vmap.flags_address is not None:
        word = reg(vmap.flags_address)
        for bit, name in vmap.flag_bits.items():
            if word & (1 << bit):
                if name == "warning":
                    warning = True
                else:
                    flags.add(StatusFlag(name))
    cv = ChannelValue(channel, value, unit, gas=gas)
    return VendorState(Frame(vmap.name, (cv,), frozenset(flags)), fault_number, warning)


def vendor_image(
    vmap: VendorMap,
    value: float | None,
    fault_number: int = 0,
    flag_names: Sequence[str] = (),
) -> list[int]:
    """Registers ``vmap.start`` .. ``start + count`` as the vendor device would hold them."""
    regs = [0] * vmap.count

    def put(address: int, word: int) -> None:
        regs[address - vmap.start] = word & 0xFFFF

    if vmap.value_kind == "float32_abcd":
        hi, lo = float_to_words(math.nan if value is None else value)
        put(vmap.value_address, hi)
        put(vmap.value_address + 1, lo)
    else:
        put(vmap.value_address, NOT_AVAILABLE if value is None else round(value))
    if vmap.fault_number_address is not None:
        put(vmap.fault_number_address, fault_number)
    if vmap.flags_address is not None:
        word = 0
        for bit, name in vmap.flag_bits.items():
            if name in flag_names:
                word |= 1 << bit
        put(vmap.flags_address, word)
    return regs
