"""Chunks as the first tablets stored them (layout ``CSRC1``, described in
``permits.chunks``): the server and the tablet still read them, nothing writes them
any more, so only the tests make them."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from permits.chunks import CSRC1
from permits.readings import Reading, flags_to_byte


def _key(r: Reading) -> tuple[str, str, str | None, float | None]:
    return (r.channel.value, r.unit.value, r.gas, r.lel_vol)


def encode_csrc1(readings: Sequence[Reading]) -> bytes:
    """float32 values, an int32 time delta and a channel index a value."""
    ordered = sorted(readings, key=lambda r: r.received_at or datetime.min)
    keys = list(dict.fromkeys(_key(r) for r in ordered))
    t0 = ordered[0].received_at
    assert t0 is not None
    ms = np.array(
        [round((r.received_at - t0).total_seconds() * 1000) for r in ordered],  # type: ignore[operator]
        dtype=np.int64,
    )
    header = json.dumps(
        {
            "serial": ordered[0].device_serial,
            "t0": t0.isoformat(),
            "channels": [list(k) for k in keys],
            "n": len(ordered),
        },
        separators=(",", ":"),
    ).encode()
    columns = b"".join(
        (
            np.diff(ms, prepend=0).astype("<i4").tobytes(),
            np.array([keys.index(_key(r)) for r in ordered], dtype="u1").tobytes(),
            np.array([r.value for r in ordered], dtype="<f4").tobytes(),
            np.array([flags_to_byte(r.status) for r in ordered], dtype="u1").tobytes(),
        )
    )
    return CSRC1 + struct.pack("<I", len(header)) + header + zlib.compress(columns, 9)
