"""Streaming devices on a byte port: ``gasl`` lines and ``winsen-uart`` active upload.

Both answer their protocol's question: gasl ``$CMD,INFO`` with an ``$INFO`` line,
winsen ``FF 01 86 ...`` with ``FF 86 concH concL ...``.
"""

from __future__ import annotations

from collections.abc import Callable

from hil_sim.devices.model import DetectorModel, DeviceOutput
from hil_sim.devices.ports import Port
from hil_sim.scenario import FaultKind
from sensor_drivers.protocols import gasl, winsen


def gasl_line(out: DeviceOutput) -> bytes:
    line = gasl.encode_line(out.seq, out.uptime_ms, out.values, out.battery, out.status)
    if out.corrupt:
        good = int(line[-4:-2], 16)
        line = line[:-4] + f"{good ^ 0x5A:02X}".encode() + b"\r\n"
    return out.garbage + line


def gasl_info(model: DetectorModel) -> bytes:
    spec = model.spec
    return gasl.encode_info(
        gasl.DeviceInfo(
            serial=spec.serial,
            model=spec.model,
            firmware=spec.firmware,
            calibration_due=spec.calibration_due,
            last_bump=spec.last_bump,
        )
    )


def winsen_frame(out: DeviceOutput) -> bytes:
    cv = out.values[0]
    decimals = cv.decimals or 0
    assert cv.value is not None and cv.full_scale is not None
    frame = winsen.encode_frame(cv.channel, cv.unit, cv.value, cv.full_scale, decimals)
    if out.corrupt:
        frame = frame[:-1] + bytes([(frame[-1] + 1) & 0xFF])
    return out.garbage + frame


class StreamDevice:
    """One gasl or winsen detector on a pty or a socket."""

    def __init__(self, model: DetectorModel, port: Port, now: Callable[[], float]) -> None:
        self.model = model
        self.port = port
        self._now = now  # scenario seconds
        self.protocol = model.spec.protocol
        self._rx = bytearray()
        self._link_up = True
        self.good_frames_sent = 0  # frames written with a valid checksum

    async def start(self) -> None:
        await self.port.open(self._on_request)

    async def stop(self) -> None:
        await self.port.close()

    def emit(self, out: DeviceOutput) -> None:
        self._link(out.online)
        if not out.transmits:
            return
        data = gasl_line(out) if self.protocol == "gasl" else winsen_frame(out)
        self.port.write(data)
        if not out.corrupt:
            self.good_frames_sent += 1

    def _link(self, online: bool) -> None:
        if online == self._link_up:
            return
        self._link_up = online
        self.port.accepting(online)
        if not online:
            self.port.drop_link()

    def _on_request(self, data: bytes) -> None:
        t = self._now()
        kinds = {f.kind for f in self.model.active_faults(t)}
        if kinds & {FaultKind.LINK_DROP, FaultKind.SILENCE} or self.model.battery(t) <= 0.5:
            return  # nobody home: the request is lost
        self._rx += data
        if self.protocol == "gasl":
            self._gasl_requests()
        else:
            self._winsen_requests(t)

    def _gasl_requests(self) -> None:
        while b"\n" in self._rx:
            line, _, rest = bytes(self._rx).partition(b"\n")
            self._rx = bytearray(rest)
            start = line.find(b"$")
            if start < 0:
                continue
            try:
                message = gasl.decode_line(line[start:] + b"\n")
            except Exception:  # a garbled command is ignored, as a device would
                continue
            if isinstance(message, gasl.Command) and message.name == "INFO":
                self.port.write(gasl_info(self.model))
        if len(self._rx) > gasl.MAX_LINE:
            self._rx.clear()

    def _winsen_requests(self, t: float) -> None:
        while len(self._rx) >= winsen.FRAME_LEN:
            if bytes(self._rx[: winsen.FRAME_LEN]) == winsen.QUERY:
                del self._rx[: winsen.FRAME_LEN]
                out = self.model.output(t)
                cv = out.values[0]
                raw = round((cv.value or 0.0) * 10 ** (cv.decimals or 0))
                self.port.write(winsen.encode_answer(min(raw, 0xFFFF)))
            else:
                del self._rx[0]
