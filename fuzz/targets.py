"""One function per harness: bytes in, nothing out. Each may raise only

* the parser's own typed refusal, which it catches (``FrameError`` for the detector
  protocols, ``PermitError`` for the permit core's inputs), or
* ``AssertionError`` when an invariant breaks: that, and any other exception, is a
  finding.

The invariants are the promises the docs make: a decoded value is a finite number or
"not available" (never NaN read as clean air), the incremental decoders find the same
frames however the bytes are cut, an accepted atmosphere test has no untrusted reading,
a chain that verifies has hashes that recompute.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from permits.atmosphere import evaluate, parse_test
from permits.errors import InvalidInput, PermitError
from permits.events import parse_event
from permits.integrity import event_hash, read_export, verify_chain
from permits.profiles import list_profiles, load_profile
from permits.readings import UNTRUSTED_FLAGS, Channel, Unit
from sensor_drivers.errors import FrameError
from sensor_drivers.protocols import ess, gasl, modbus_gt4, winsen
from sensor_drivers.protocols._common import Frame

_PROFILES = [load_profile(name) for name in list_profiles()]
_VENDOR_MAPS = list(modbus_gt4.vendor_maps().values())
_ESS_UUIDS = [*sorted(ess.CHARACTERISTICS), "2a6e", "not-a-uuid"]


def _check_frame(frame: Frame) -> None:
    for cv in frame.values:
        assert cv.value is None or math.isfinite(cv.value), f"non-finite value {cv!r}"
        assert cv.full_scale is None or math.isfinite(cv.full_scale), cv
    assert frame.battery is None or 0 <= frame.battery <= 100, frame.battery
    assert frame.seq is None or 0 <= frame.seq < 65536, frame.seq
    # The session turns every frame into readings: that must never raise.
    for reading in frame.readings("FUZZ-1"):
        assert math.isfinite(reading.value)


def _cuts(data: bytes) -> list[bytes]:
    """Split ``data`` into pieces whose sizes come from the data itself, the way a serial
    port or BLE notifications deliver bytes in arbitrary slices."""
    if not data:
        return []
    step = data[0] % 23 + 1
    return [data[i : i + step] for i in range(0, len(data), step)]


def fuzz_gasl(data: bytes) -> None:
    try:
        message = gasl.decode_line(data)
    except FrameError:
        pass
    else:
        if isinstance(message, Frame):
            _check_frame(message)
            # A line that decodes round-trips through the encoder's checksum.
            assert gasl.checksum(data.rstrip(b"\r\n")[1:-3]) == int(data.rstrip(b"\r\n")[-2:], 16)
    whole = gasl.LineDecoder()
    at_once = [m for m in whole.feed(data) if isinstance(m, Frame)]
    pieces = gasl.LineDecoder()
    sliced: list[Any] = []
    for piece in _cuts(data):
        sliced += [m for m in pieces.feed(piece) if isinstance(m, Frame)]
    assert at_once == sliced, "frames depend on how the bytes were cut"
    for frame in at_once:
        _check_frame(frame)
    assert len(whole.pending) <= gasl.MAX_LINE and len(pieces.pending) <= gasl.MAX_LINE
    stats = whole.stats
    assert stats.frames == len(at_once)
    assert min(stats.noise_bytes, stats.dropped_lines, stats.corrupt_frames) >= 0


def fuzz_winsen(data: bytes) -> None:
    for decode in (winsen.decode_frame, winsen.decode_answer):
        try:
            out = decode(data)
        except FrameError:
            continue
        if isinstance(out, Frame):
            _check_frame(out)
        else:
            assert 0 <= out.concentration_raw <= 0xFFFF
    whole = winsen.FrameDecoder()
    at_once = [m for m in whole.feed(data) if not isinstance(m, FrameError)]
    pieces = winsen.FrameDecoder()
    sliced: list[Any] = []
    for piece in _cuts(data):
        sliced += [m for m in pieces.feed(piece) if not isinstance(m, FrameError)]
    assert at_once == sliced, "frames depend on how the bytes were cut"
    for frame in at_once:
        if isinstance(frame, Frame):
            _check_frame(frame)


def _registers(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]


def fuzz_modbus_gt4(data: bytes) -> None:
    regs = _registers(data)
    try:
        header, frame = modbus_gt4.decode_image(regs)
    except FrameError:
        pass
    else:
        assert 1 <= header.channel_count <= modbus_gt4.MAX_CHANNELS
        assert len(frame.values) == header.channel_count
        _check_frame(frame)
    if not data:
        return
    vmap = _VENDOR_MAPS[data[0] % len(_VENDOR_MAPS)]
    try:
        state = modbus_gt4.decode_vendor(vmap, _registers(data[1:]), *_vendor_channel(vmap))
    except FrameError:
        return
    _check_frame(state.frame)


def _vendor_channel(vmap: modbus_gt4.VendorMap) -> tuple[Channel, Unit]:
    # A vendor map does not say which sensor is fitted; the caller names it.
    return Channel.H2S, Unit.PPM


def fuzz_ess(data: bytes) -> None:
    if not data:
        return
    uuid = _ESS_UUIDS[data[0] % len(_ESS_UUIDS)]
    try:
        measurement = ess.decode_characteristic(uuid, data[1:])
    except FrameError:
        return
    assert math.isfinite(measurement.ppm), measurement
    assert measurement.kg_m3 is None or math.isfinite(measurement.kg_m3)
    _check_frame(measurement.frame())


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def fuzz_atmosphere(data: bytes) -> None:
    doc = _json(data)
    if doc is None:
        return
    try:
        test = parse_test(doc)
    except PermitError:
        return
    for profile in _PROFILES:
        verdict = evaluate(test, profile)
        if verdict.acceptable:
            # Fail closed: nothing untrusted, nothing missing, ever reads as clean air.
            assert not verdict.reasons
            for sample in test.samples:
                assert not (set(sample.status) & UNTRUSTED_FLAGS), sample
                for reading in sample.readings:
                    assert not (set(reading.status) & UNTRUSTED_FLAGS), reading
            sampled = {s.point for s in test.samples}
            assert set(test.space.sample_points) <= sampled
        json.dumps(verdict.as_dict())  # every verdict serialises (it is stored in events)


def fuzz_event(data: bytes) -> None:
    doc = _json(data)
    if doc is None:
        return
    try:
        event = parse_event(doc)
    except PermitError:
        return
    again = parse_event(json.loads(json.dumps(event.to_json())))
    assert again == event, "an event does not survive its own JSON form"
    try:
        event_hash(event)
    except InvalidInput:
        return  # text with no UTF-8 form (a lone surrogate): refused by name, not a crash


def fuzz_export(data: bytes) -> None:
    doc = _json(data)
    if doc is None:
        return
    try:
        export = read_export(doc)
    except PermitError:
        return
    result = verify_chain(export.events, export.devices, permit_id=export.permit_id)
    if result.valid:
        # A chain that verifies has seqs 1..n and hashes that recompute.
        events = [parse_event(e) for e in export.events]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        for e in events:
            assert e.hash == event_hash(e)


HARNESSES: dict[str, Callable[[bytes], None]] = {
    "gasl": fuzz_gasl,
    "winsen": fuzz_winsen,
    "modbus_gt4": fuzz_modbus_gt4,
    "ess": fuzz_ess,
    "atmosphere": fuzz_atmosphere,
    "event": fuzz_event,
    "export": fuzz_export,
}
