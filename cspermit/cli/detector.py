"""`cspermit detector ...`: decode a raw capture, read a live detector, scan for BLE ones.

``decode`` reads bytes (or hex text with ``--hex``) on stdin and prints one JSON
object per decoded or rejected frame; it exits 0 when every frame decoded and 1
when at least one was rejected. ``read`` prints live readings. ``scan`` lists
BLE detectors. Exit 2 means bad arguments or a port that cannot be used, 3 no
Bluetooth adapter, 4 the detector was lost. Never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer


def _(message: str) -> str:
    # Importing sensor_drivers.i18n loads the whole sensor_drivers package (protocols,
    # session, quality): only when a message is needed, so other commands start fast.
    from sensor_drivers.i18n import gettext

    return gettext(message)


if TYPE_CHECKING:
    from permits.readings import Reading
    from sensor_drivers import DetectorSession, DriverError, Frame

app = typer.Typer(
    help="Gas detectors: decode captures, read live values, scan BLE / 气体检测仪",
    no_args_is_help=True,
)

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_INVALID = 2
EXIT_NO_ADAPTER = 3
EXIT_LOST = 4


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _read_input(as_hex: bool) -> bytes:
    data = sys.stdin.buffer.read()
    if not as_hex:
        return data
    text = data.decode("ascii", "replace")
    # Accept "ff 03", "FF:03", "0xff,0x03" and plain "ff03" as technicians paste them.
    digits = re.sub(r"0x|[\s,:;-]", "", text, flags=re.IGNORECASE)
    if len(digits) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", digits):
        _fail(_("--hex input must be pairs of hexadecimal digits"))
    return bytes.fromhex(digits)


def _frame_json(frame: Frame) -> dict[str, Any]:
    from permits.readings import sorted_flags

    readings = [
        {"channel": cv.channel.value, "value": cv.value, "unit": cv.unit.value}
        for cv in frame.values
    ]
    out: dict[str, Any] = {"readings": readings}
    if frame.seq is not None:
        out["seq"] = frame.seq
    if frame.device_time_ms is not None:
        out["uptime_ms"] = frame.device_time_ms
    if frame.battery is not None:
        out["battery"] = frame.battery
    if frame.protocol == "gasl":
        out["status"] = sorted_flags(frame.status)
    channel_status = {cv.channel.value: sorted_flags(cv.status) for cv in frame.values if cv.status}
    if channel_status:
        out["channel_status"] = channel_status
    return out


def _error_json(err: DriverError) -> dict[str, Any]:
    out = err.as_dict()
    out["message"] = err.message()
    return out


def _decode_gasl(data: bytes) -> int:
    from sensor_drivers import Frame, FrameError
    from sensor_drivers.protocols import gasl

    decoder = gasl.LineDecoder()
    rejected = 0
    for message in decoder.feed(data):
        if isinstance(message, FrameError):
            rejected += 1
            _emit(_error_json(message))
        elif isinstance(message, Frame):
            _emit(_frame_json(message))
        elif isinstance(message, gasl.DeviceInfo):
            _emit(
                {
                    "info": {
                        "serial": message.serial,
                        "model": message.model,
                        "firmware": message.firmware,
                        "calibration_due": str(message.calibration_due or ""),
                        "last_bump": message.last_bump.isoformat() if message.last_bump else "",
                    }
                }
            )
        else:
            _emit({"command": message.name})
    if decoder.pending.strip():  # an unterminated last line is a rejected frame too
        rejected += 1
        _emit({"error": "MALFORMED_FRAME", "detail": "line without CR LF at end of input"})
    return rejected


def _decode_winsen(data: bytes) -> int:
    from sensor_drivers import Frame, FrameError
    from sensor_drivers.protocols import winsen

    decoder = winsen.FrameDecoder(aligned_start=True)  # a capture starts on a frame
    rejected = 0
    for message in decoder.feed(data):
        if isinstance(message, FrameError):
            rejected += 1
            _emit(_error_json(message))
        elif isinstance(message, Frame):
            out = _frame_json(message)
            out["full_scale"] = message.values[0].full_scale
            _emit(out)
        else:
            _emit({"answer": {"concentration_raw": message.concentration_raw}})
    if decoder.stats.noise_bytes:
        typer.echo(_("skipped bytes:") + f" {decoder.stats.noise_bytes}", err=True)
    return rejected


def _decode_ess(uuid: str, data: bytes) -> int:
    from sensor_drivers import FrameError
    from sensor_drivers.protocols import ess

    if ess.normalize_uuid(uuid) not in ess.CHARACTERISTICS:
        known = ", ".join(u[4:8] for u in ess.CHARACTERISTICS)
        _fail(_("unknown ESS characteristic") + f" {uuid!r} ({known})")
    rejected = 0
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        try:
            m = ess.decode_characteristic(uuid, chunk)
        except FrameError as err:
            rejected += 1
            _emit(_error_json(err) | {"raw": chunk.hex(" ")})
            continue
        _emit(
            {
                "uuid": m.uuid,
                "kg_m3": m.kg_m3,
                "readings": [{"channel": m.channel.value, "value": m.ppm, "unit": "ppm"}],
            }
        )
    return rejected


@app.command()
def decode(
    protocol: Annotated[
        str, typer.Option(help="gasl, winsen-uart or ess:<characteristic uuid, e.g. 2bd0>")
    ],
    hex_input: Annotated[bool, typer.Option("--hex", help="stdin is hex text")] = False,
) -> None:
    """Decode a raw capture from stdin: one JSON object per frame or rejected frame."""
    data = _read_input(hex_input)
    if protocol == "gasl":
        rejected = _decode_gasl(data)
    elif protocol == "winsen-uart":
        rejected = _decode_winsen(data)
    elif protocol.startswith("ess:"):
        rejected = _decode_ess(protocol[4:], data)
    else:
        _fail(_("--protocol must be gasl, winsen-uart or ess:<uuid>") + f": {protocol!r}")
    raise typer.Exit(EXIT_REJECTED if rejected else EXIT_OK)


def _reading_json(reading: Reading, session: DetectorSession) -> dict[str, Any]:
    from permits.readings import sorted_flags

    frame = session.last_frame
    device_flags = frame.status if frame is not None else frozenset()
    channel_flags = reading.status - device_flags
    return {
        "device_serial": reading.device_serial,
        "channel": reading.channel.value,
        "value": reading.value,
        "unit": reading.unit.value,
        "status": sorted_flags(reading.status),
        "device_status": sorted_flags(device_flags),
        "channel_status": sorted_flags(channel_flags),
        "device_time_ms": reading.device_time_ms,
        "received_at": reading.received_at.isoformat() if reading.received_at else None,
    }


async def _read(session: DetectorSession, count: int | None, as_json: bool) -> None:
    from sensor_drivers import QualityIssue

    seen = 0
    async with session:
        async for event in session.events():
            if isinstance(event, QualityIssue):
                if as_json:
                    _emit(event.as_dict())
                else:
                    typer.echo(
                        f"! {event.code.value} {event.channel or ''} {event.facts}", err=True
                    )
                continue
            if as_json:
                _emit(_reading_json(event, session))
            else:
                flags = ",".join(sorted(f.value for f in event.status))
                typer.echo(f"{event.channel.value}\t{event.value}\t{event.unit.value}\t{flags}")
            seen += 1
            if count is not None and seen >= count:
                return


@app.command()
def read(
    protocol: Annotated[str, typer.Option(help="gasl, winsen-uart or modbus-gt4")],
    port: Annotated[str, typer.Option(help="device path or pyserial URL (socket://host:port)")],
    slave: Annotated[int | None, typer.Option(help="Modbus slave id (default: the map's)")] = None,
    map_name: Annotated[
        str, typer.Option("--map", help="Modbus map: gt4, honeywell-xnx, draeger-polytron8000")
    ] = "gt4",
    channel: Annotated[str | None, typer.Option(help="fitted sensor for a vendor map")] = None,
    unit: Annotated[str | None, typer.Option(help="its unit for a vendor map")] = None,
    baudrate: Annotated[int | None, typer.Option(help="default: 9600, or the map's")] = None,
    parity: Annotated[str | None, typer.Option(help="N, E or O (default: the map's)")] = None,
    count: Annotated[int | None, typer.Option(help="stop after this many readings")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """Read a live detector on a serial port or socket."""
    from permits.readings import Channel, Unit
    from sensor_drivers import DetectorSession, DriverError, DriverErrorCode

    try:
        if protocol == "modbus-gt4":
            try:
                ch = Channel(channel) if channel else None
                un = Unit(unit) if unit else None
            except ValueError:
                _fail(_("--channel or --unit is not a known code") + f": {channel!r} {unit!r}")
            session = DetectorSession.modbus(
                port,
                slave=slave,
                map_name=map_name,
                channel=ch,
                unit=un,
                baudrate=baudrate,
                parity=parity,
            )
        else:
            session = DetectorSession.serial(port, protocol, baudrate or 9600)
        asyncio.run(_read(session, count, as_json))
    except DriverError as err:
        if err.code is DriverErrorCode.DETECTOR_LOST:
            _fail(err.message(), EXIT_LOST)
        _fail(err.message(), EXIT_INVALID)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_OK) from None


@app.command()
def scan(
    timeout: Annotated[float, typer.Option(help="seconds to listen")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """List BLE gas detectors (name prefix GASL-, Nordic UART or ESS)."""
    from sensor_drivers import DriverError, DriverErrorCode
    from sensor_drivers.ble import scan as ble_scan

    try:
        found = asyncio.run(ble_scan(timeout))
    except DriverError as err:
        if err.code is DriverErrorCode.NO_ADAPTER:
            _fail(_("no Bluetooth adapter found"), EXIT_NO_ADAPTER)
        _fail(err.message(), EXIT_INVALID)
    if not found and not as_json:
        typer.echo(_("no detectors found"))
    for d in found:
        if as_json:
            _emit(
                {
                    "address": d.address,
                    "name": d.name,
                    "rssi": d.rssi,
                    "protocols": list(d.protocols),
                }
            )
        else:
            typer.echo(f"{d.address}\t{d.name or ''}\t{d.rssi}\t{','.join(d.protocols)}")
