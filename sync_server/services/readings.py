"""Readings chunks decoded for the trace chart and the PDF's readings table.

Two chunk layouts reach the server: the tablet's columnar ``CSRC2`` chunk (written
now: a time step a frame, values as delta-coded integers at the channel's resolution or
float64; docs/tablet.md "Readings chunks") and the first tablets' ``CSRC1`` chunk (a JSON
header, then zlib-compressed columns of int32 time deltas in ms, uint8 channel index,
float32 value, uint8 status; stored chunks never change, so it is read for good). Both
are read by the same codec the tablet writes with (``permits.chunks``); a chunk in
neither layout is reported as unreadable, never guessed at.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from permits.chunks import ChunkError, decode_columns
from sync_server.schema import blobs


@dataclass(frozen=True)
class Point:
    at: datetime
    channel: str
    value: float
    unit: str
    serial: str


class ChunkUnreadable(ValueError):
    pass


def _chunk(data: bytes) -> list[Point]:
    try:
        c = decode_columns(data)
    except ChunkError as exc:
        raise ChunkUnreadable(str(exc)) from exc
    times = (c.t0 + timedelta(milliseconds=ms) for ms in c.ms.tolist())
    return [
        Point(at=at, channel=c.keys[k][0], value=v, unit=c.keys[k][1], serial=c.serial)
        for at, k, v in zip(times, c.key_of.tolist(), c.values.tolist(), strict=True)
    ]


def decode(data: bytes) -> list[Point]:
    return _chunk(data)


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
