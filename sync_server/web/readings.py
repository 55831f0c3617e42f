"""Readings chunks decoded for the trace chart and the PDF's readings table.

Two chunk layouts reach the server: the tablet's columnar ``CSRC1`` chunk (DESIGN.md
"Readings": a JSON header, then zlib-compressed columns of int32 time deltas in ms,
uint8 channel index, float32 value, uint8 status) and the demo history's compact JSON
chunk (zlib JSON with ``start``, ``step_s``, ``channels`` and ``rows``). The server may
not import the tablet app, so the reader is written here from the format; a chunk in
neither layout is reported as unreadable, never guessed at.
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
        raw = zlib.decompress(data[start + hlen :])
        n = int(header["n"])
        t0 = datetime.fromisoformat(header["t0"])
        keys = header["channels"]
    except (struct.error, ValueError, KeyError, TypeError, zlib.error) as exc:
        raise ChunkUnreadable(f"corrupt CSRC1 chunk: {exc}") from exc
    if len(raw) != n * 10:
        raise ChunkUnreadable(f"corrupt CSRC1 chunk: {len(raw)} column bytes for {n} readings")
    times = np.cumsum(np.frombuffer(raw[: 4 * n], dtype="<i4").astype(np.int64))
    chan = np.frombuffer(raw[4 * n : 5 * n], dtype="u1")
    values = np.frombuffer(raw[5 * n : 9 * n], dtype="<f4")
    out = []
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
