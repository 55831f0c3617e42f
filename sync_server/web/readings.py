"""Readings chunks decoded for the trace chart and the PDF's readings table.

Three chunk layouts reach the server: the tablet's columnar ``CSRC2`` chunk (written
now: a time step a frame, values as delta-coded integers at the channel's resolution or
float64; docs/tablet.md "Readings chunks"), the first tablets' ``CSRC1`` chunk (a JSON
header, then zlib-compressed columns of int32 time deltas in ms, uint8 channel index,
float32 value, uint8 status; stored chunks never change, so it is read for good) and
the demo history's compact JSON chunk (zlib JSON with ``start``, ``step_s``,
``channels`` and ``rows``). The server may not import the tablet app, so the reader is
written here from the format (tests/web/test_units.py checks it against the tablet's
encoder); a chunk in none of these layouts is reported as unreadable, never guessed at.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import blobs
from sync_server.web.labels import CHANNEL_UNITS, parse_time

CSRC1 = b"CSRC1"
CSRC2 = b"CSRC2"
# What one chunk may hold (the tablet's limits too): a zlib bomb or a header claiming a
# billion frames is refused before it fills memory.
MAX_RAW_BYTES = 32 * 1024 * 1024
MAX_READINGS = 1_000_000
_SIGNED = ("<i1", "<i2", "<i4", "<i8")
MAX_DECIMALS = 6
MAX_KEYS = 64


@dataclass(frozen=True)
class Point:
    at: datetime
    channel: str
    value: float
    unit: str
    serial: str


class ChunkUnreadable(ValueError):
    pass


def _csrc1(data: bytes) -> list[Point]:
    try:
        (hlen,) = struct.unpack_from("<I", data, len(CSRC1))
        start = len(CSRC1) + 4
        header = json.loads(data[start : start + hlen])
        raw = _inflate(data[start + hlen :])
        n = int(header["n"])
        t0 = datetime.fromisoformat(header["t0"])
        keys = header["channels"]
    except (struct.error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ChunkUnreadable(f"corrupt CSRC1 chunk: {exc}") from exc
    if len(raw) != n * 10 or n > MAX_READINGS:
        raise ChunkUnreadable(f"corrupt CSRC1 chunk: {len(raw)} column bytes for {n} readings")
    times = np.cumsum(np.frombuffer(raw[: 4 * n], dtype="<i4").astype(np.int64))
    chan = np.frombuffer(raw[4 * n : 5 * n], dtype="u1")
    values = np.frombuffer(raw[5 * n : 9 * n], dtype="<f4")
    out = []
    if n and int(chan.max()) >= len(keys):
        raise ChunkUnreadable("corrupt CSRC1 chunk: a channel index past the header's list")
    for i in range(n):
        channel, unit = keys[int(chan[i])][:2]
        out.append(
            Point(
                at=t0 + timedelta(milliseconds=int(times[i])),
                channel=str(channel),
                value=float(str(values[i])),
                unit=str(unit),
                serial=str(header.get("serial", "")),
            )
        )
    return out


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, MAX_RAW_BYTES)
    except zlib.error as exc:
        raise ChunkUnreadable(f"corrupt readings chunk: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ChunkUnreadable(f"corrupt readings chunk: inflates past {MAX_RAW_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ChunkUnreadable("corrupt readings chunk: truncated or trailing bytes")
    return raw


def _csrc2(data: bytes) -> list[Point]:
    """``b"CSRC2" + zlib(uint32 header length + JSON header + columns)``; the columns: a
    time step a frame (minus the header's ``step``), then per channel key its values
    (delta-coded integers at ``10**-decimals`` after the header's first value, or
    float64), then a status byte a value when the header says so. Which keys each frame
    holds is the header's run-length list of [frames, bit mask]."""
    raw = _inflate(data[len(CSRC2) :])
    try:
        (hlen,) = struct.unpack_from("<I", raw, 0)
        h = json.loads(raw[4 : 4 + hlen])
        serial = str(h["serial"])
        t0 = datetime.fromisoformat(h["t0"])
        step = int(h["step"])
        time_dtype = _dtype(h["time"], _SIGNED)
        runs = [(int(count), int(mask)) for count, mask in h["frames"]]
        keys: list[tuple[str, str]] = []
        coding: list[tuple[int | None, int, str]] = []
        for k in h["keys"]:
            channel, unit, _gas, _lel_vol, d, first, dtype = k
            keys.append((str(channel), str(unit)))
            if d == "f8":
                coding.append((None, 0, _dtype(dtype, ("<f8",))))
            elif isinstance(d, int) and 0 <= d <= MAX_DECIMALS and isinstance(first, int):
                coding.append((d, first, _dtype(dtype, _SIGNED)))
            else:
                raise ValueError(f"bad decimals {d!r} or first value {first!r}")
    except (struct.error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ChunkUnreadable(f"corrupt CSRC2 chunk header: {exc}") from exc
    n_keys = len(keys)
    if not runs or not 0 < n_keys <= MAX_KEYS:
        raise ChunkUnreadable("corrupt CSRC2 chunk: no frames or no channels")
    if any(count < 1 or not 0 < mask < 1 << n_keys for count, mask in runs):
        raise ChunkUnreadable("corrupt CSRC2 chunk: a frame names no or unknown channels")
    if sum(count * mask.bit_count() for count, mask in runs) > MAX_READINGS:
        raise ChunkUnreadable(f"corrupt CSRC2 chunk: over {MAX_READINGS} readings")
    pos = 4 + hlen

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        size = np.dtype(dtype).itemsize * count
        if count < 0 or pos + size > len(raw):
            raise ChunkUnreadable("corrupt CSRC2 chunk: a column is cut short")
        col = np.frombuffer(raw, dtype=dtype, count=count, offset=pos)
        pos += size
        return col

    n_frames = sum(count for count, _mask in runs)
    steps = take(time_dtype, n_frames - 1).astype(np.int64) + step
    frame_ms = np.concatenate(([0], np.cumsum(steps)))
    frame_of, key_of = _layout(runs, n_keys)
    values = np.empty(len(frame_of), dtype=np.float64)
    for i, (d, first, dtype) in enumerate(coding):
        where = key_of == i
        if d is None:
            values[where] = take(dtype, int(where.sum()))
        else:
            diffs = take(dtype, int(where.sum()) - 1).astype(np.int64)
            values[where] = np.concatenate(([first], first + np.cumsum(diffs))) / 10.0**d
    if pos != len(raw) - (len(frame_of) if h.get("status") else 0):
        raise ChunkUnreadable("corrupt CSRC2 chunk: the columns do not fill the chunk")
    times = (t0 + timedelta(milliseconds=ms) for ms in frame_ms[frame_of].tolist())
    return [
        Point(at=at, channel=keys[k][0], value=v, unit=keys[k][1], serial=serial)
        for at, k, v in zip(times, key_of.tolist(), values.tolist(), strict=True)
    ]


def _layout(runs: list[tuple[int, int]], n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame and key index of every reading, from the run-length list of key masks."""
    frames, keys = [], []
    start = 0
    for count, mask in runs:
        present = np.array([i for i in range(n_keys) if mask >> i & 1], dtype=np.int64)
        frames.append(np.repeat(np.arange(start, start + count), len(present)))
        keys.append(np.tile(present, count))
        start += count
    return np.concatenate(frames), np.concatenate(keys)


def _dtype(name: Any, allowed: tuple[str, ...]) -> str:
    if name not in allowed:
        raise ValueError(f"bad column type {name!r}")
    return str(name)


def _demo_json(data: bytes) -> list[Point]:
    try:
        blob = json.loads(zlib.decompress(data))
        start = parse_time(blob["start"])
        channels = [str(c) for c in blob["channels"]]
        rows = blob["rows"]
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise ChunkUnreadable(f"not a readings chunk: {exc}") from exc
    if start is None:
        raise ChunkUnreadable("readings chunk without a start time")
    out = []
    for row in rows:
        at = start + timedelta(seconds=float(row[0]))
        for channel, value in zip(channels, row[1:], strict=False):
            out.append(
                Point(at, channel, float(value), CHANNEL_UNITS.get(channel, "ppm"), blob["serial"])
            )
    return out


def decode(data: bytes) -> list[Point]:
    if data.startswith(CSRC2):
        return _csrc2(data)
    if data.startswith(CSRC1):
        return _csrc1(data)
    return _demo_json(data)


def load_points(
    conn: Connection, enterprise_id: str, digests: list[str]
) -> tuple[list[Point], list[str]]:
    """Every reading held for these chunk digests, in time order, and the digests that
    could not be read (held but corrupt)."""
    if not digests:
        return [], []
    rows = conn.execute(
        sa.select(blobs.c.sha256, blobs.c.data).where(
            blobs.c.enterprise_id == enterprise_id,
            blobs.c.kind == "chunk",
            blobs.c.sha256.in_(digests),
        )
    )
    points: list[Point] = []
    bad: list[str] = []
    for row in rows:
        data = bytes(row.data)
        if hashlib.sha256(data).hexdigest() != row.sha256:
            # Changed after it was stored (the trace lists it as corrupt): never plotted.
            continue
        try:
            points.extend(decode(data))
        except ChunkUnreadable:
            bad.append(row.sha256)
    points.sort(key=lambda p: (p.at, p.channel))
    return points, sorted(bad)


def summarise(points: list[Point]) -> list[dict[str, Any]]:
    """Per channel: unit, count, min, max, first and last time (the PDF's table)."""
    by: dict[str, list[Point]] = {}
    for p in points:
        by.setdefault(p.channel, []).append(p)
    out = []
    for channel, ps in by.items():
        values = [p.value for p in ps]
        out.append(
            {
                "channel": channel,
                "unit": ps[0].unit,
                "n": len(ps),
                "min": min(values),
                "max": max(values),
                "first": ps[0].at,
                "last": ps[-1].at,
            }
        )
    return out
