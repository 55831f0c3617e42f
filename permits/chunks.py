"""Readings chunks: the continuous-monitoring record packed into compressed, hashed
columns. Pure: bytes in, readings (or columns) out; the tablet seals and stores them
(``tablet_app.chunks.ChunkRecorder``) and the server reads them for the trace chart
(``sync_server.web.readings``), both through this one codec.

A few minutes of one detector's readings become one chunk. The chunk's SHA-256 (over
the bytes as stored and uploaded) goes into the permit chain as a
``readings_chunk_recorded`` event, so the record is tamper-evident and
content-addressed for sync.

Layout ``CSRC2`` (written now; docs/tablet.md "Readings chunks")::

    b"CSRC2" + zlib( uint32 header length + JSON header + columns )

The detector sends all its channels in one frame with one receive time, so times are
stored once a frame, not once a value. Columns, each of the narrowest little-endian
integer width that holds it (the width is in the header):

* ``time``: per frame, milliseconds since the previous frame minus ``step`` (the
  median frame spacing), so a steady 1-Hz stream is a column of small jitters;
* ``mask``: per frame, a bit per channel key present in it;
* one value column per channel key: the value as an integer at the channel's
  resolution (``10**-decimals``, the fewest decimals that give back exactly the
  recorded float), delta-coded along the channel; a channel whose values are not all
  exact decimals of up to six places (NaN, -0.0, a computed float) is stored as raw
  float64 instead, so decoding always returns exactly the recorded values;
* ``status``: a byte a value, only when some value has a flag.

Layout ``CSRC1`` (the first tablets; still read everywhere because stored chunks never
change): ``b"CSRC1"``, uint32 header length, JSON header, then zlib of the columns
int32 ms delta per value, uint8 channel index, float32 value, uint8 status.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from permits.readings import Channel, Reading, Unit, flags_from_byte, flags_to_byte

MAGIC = b"CSRC2"
CSRC1 = b"CSRC1"
MAX_DECIMALS = 6
MAX_KEYS = 64  # a frame's channel mask is at most 64 bits
# Bounds on what one chunk may hold, so a damaged or hostile chunk (a zlib bomb, a
# header claiming a billion frames) is refused before it fills memory. A five-minute
# chunk of four channels is 1,200 readings and inflates to ~3 KB; an 8-h chunk of 16
# channels at 1 Hz would be 460,800 readings.
MAX_READINGS = 1_000_000
MAX_RAW_BYTES = 32 * 1024 * 1024
Key = tuple[str, str, str | None, float | None]


class ChunkError(ValueError):
    """Bytes that are not a readings chunk of a known layout, or readings that cannot
    make one."""


def _key(r: Reading) -> Key:
    return (r.channel.value, r.unit.value, r.gas, r.lel_vol)


_SIGNED = ("<i1", "<i2", "<i4", "<i8")


def _narrowest(values: np.ndarray, dtypes: tuple[str, ...]) -> str:
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for dtype in dtypes:
        info = np.iinfo(np.dtype(dtype))
        if info.min <= lo and hi <= info.max:
            return dtype
    raise ChunkError(f"a column does not fit in 64 bits ({lo}..{hi})")


def _decimals(values: np.ndarray) -> int | None:
    """The fewest decimals at which every value is exactly an integer multiple, or None
    (then the channel is stored as float64)."""
    if not np.isfinite(values).all() or (np.signbit(values) & (values == 0)).any():
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 * 10**d is just not a fit
        for d in range(MAX_DECIMALS + 1):
            scale = 10.0**d
            ints = np.rint(values * scale)
            if (np.abs(ints) <= 2**53).all() and ((ints / scale) == values).all():
                return d
    return None


def encode_chunk(readings: Sequence[Reading]) -> bytes:
    if not readings:
        raise ChunkError("a chunk needs at least one reading")
    if any(r.received_at is None for r in readings):
        raise ChunkError("every reading in a chunk needs received_at")
    ordered = sorted(readings, key=lambda r: r.received_at or datetime.min)
    serials = {r.device_serial for r in ordered}
    if len(serials) != 1:
        raise ChunkError(f"a chunk holds one detector, got {sorted(serials)}")
    keys = list(dict.fromkeys(_key(r) for r in ordered))
    if len(keys) > MAX_KEYS:
        raise ChunkError(f"a chunk holds at most {MAX_KEYS} channels, got {len(keys)}")
    if len(ordered) > MAX_READINGS:
        raise ChunkError(f"a chunk holds at most {MAX_READINGS} readings, got {len(ordered)}")
    index = {k: i for i, k in enumerate(keys)}
    t0 = ordered[0].received_at
    assert t0 is not None
    one_ms = timedelta(milliseconds=1)

    # Frames: readings with the same receive time (ms). A channel seen twice at one time
    # goes to a second frame at that time (no time step), so nothing is merged away; the
    # n-th reading of each channel at a time is in the n-th frame, which makes the layout
    # canonical (decode, encode again: the same bytes, the same hash).
    frame_ms: list[int] = []
    frames: list[dict[int, Reading]] = []
    same_time: dict[int, list[Reading]] = {}

    def close(at: int) -> None:
        for n in range(max(len(rs) for rs in same_time.values())):
            frame_ms.append(at)
            frames.append({i: rs[n] for i, rs in same_time.items() if len(rs) > n})
        same_time.clear()

    at = 0
    for r in ordered:
        assert r.received_at is not None
        r_at = round((r.received_at - t0) / one_ms)
        if same_time and r_at != at:
            close(at)
        at = r_at
        same_time.setdefault(index[_key(r)], []).append(r)
    close(at)
    ms = np.array(frame_ms, dtype=np.int64)
    deltas = np.diff(ms)
    step = int(np.median(deltas)) if len(deltas) else 0
    time_col = deltas - step  # frame 0 is at t0
    runs: list[list[int]] = []  # [[frames, mask]]: a steady detector is one run
    for f in frames:
        mask = sum(1 << i for i in f)
        if runs and runs[-1][1] == mask:
            runs[-1][0] += 1
        else:
            runs.append([1, mask])

    by_key: list[list[Reading]] = [[] for _ in keys]
    status: list[int] = []
    for f in frames:
        for i in sorted(f):
            by_key[i].append(f[i])
            status.append(flags_to_byte(f[i].status))

    key_meta: list[list[Any]] = []
    value_cols: list[bytes] = []
    for k, rs in zip(keys, by_key, strict=True):
        values = np.array([float(r.value) for r in rs], dtype=np.float64)
        d = _decimals(values)
        if d is None:
            key_meta.append([*k, "f8", None, "<f8"])
            value_cols.append(values.astype("<f8").tobytes())
            continue
        ints = np.rint(values * 10.0**d).astype(np.int64)
        diffs = np.diff(ints)
        dtype = _narrowest(diffs, _SIGNED)
        key_meta.append([*k, d, int(ints[0]), dtype])
        value_cols.append(diffs.astype(dtype).tobytes())

    time_dtype = _narrowest(time_col, _SIGNED)
    has_status = any(status)
    header = json.dumps(
        {
            "serial": ordered[0].device_serial,
            "t0": t0.isoformat(),
            "step": step,
            "time": time_dtype,
            "frames": runs,
            "keys": key_meta,
            "status": has_status,
        },
        separators=(",", ":"),
    ).encode()
    payload = b"".join(
        (
            struct.pack("<I", len(header)),
            header,
            time_col.astype(time_dtype).tobytes(),
            *value_cols,
            np.array(status, dtype="u1").tobytes() if has_status else b"",
        )
    )
    return MAGIC + zlib.compress(payload, 9)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, MAX_RAW_BYTES)
    except zlib.error as exc:
        raise ChunkError(f"corrupt readings chunk: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ChunkError(f"corrupt readings chunk: inflates past {MAX_RAW_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ChunkError("corrupt readings chunk: truncated or trailing bytes")
    return raw


@dataclass(frozen=True)
class Columns:
    """A decoded chunk of either layout, one array entry per reading: ``key_of`` (index
    into ``keys``, each (channel, unit, gas, lel_vol) as stored), ``ms`` after ``t0``,
    ``values`` (float64, exactly as recorded) and ``status`` bytes."""

    serial: str
    t0: datetime
    keys: list[Key]
    key_of: np.ndarray
    ms: np.ndarray
    values: np.ndarray
    status: np.ndarray


def decode_columns(data: bytes) -> Columns:
    """The columns of a ``CSRC2`` or ``CSRC1`` chunk; ChunkError names what is wrong."""
    if data.startswith(CSRC1):
        return _csrc1_columns(data)
    if not data.startswith(MAGIC):
        raise ChunkError("not a readings chunk (bad magic)")
    return _csrc2_columns(data)


def _csrc2_columns(data: bytes) -> Columns:
    raw = _inflate(data[len(MAGIC) :])
    try:
        (hlen,) = struct.unpack_from("<I", raw, 0)
        h = json.loads(raw[4 : 4 + hlen])
        serial = str(h["serial"])
        t0 = datetime.fromisoformat(h["t0"])
        step = int(h["step"])
        time_dtype = _dtype(h["time"], _SIGNED)
        runs = [(int(count), int(mask)) for count, mask in h["frames"]]
        keys: list[Key] = []
        coding: list[tuple[int | None, int, str]] = []
        for k in h["keys"]:
            channel, unit, gas, lel_vol, d, first, dtype = k
            keys.append((str(channel), str(unit), gas, lel_vol))
            if d == "f8":
                coding.append((None, 0, _dtype(dtype, ("<f8",))))
            elif isinstance(d, int) and 0 <= d <= MAX_DECIMALS and isinstance(first, int):
                coding.append((d, first, _dtype(dtype, _SIGNED)))
            else:
                raise ValueError(f"bad decimals {d!r} or first value {first!r}")
        has_status = bool(h["status"])
    except (struct.error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ChunkError(f"corrupt readings chunk header: {exc}") from exc
    n_keys = len(keys)
    if not runs or not 0 < n_keys <= MAX_KEYS:
        raise ChunkError("corrupt readings chunk: no frames or no channels")
    if any(count < 1 or not 0 < mask < 1 << n_keys for count, mask in runs):
        raise ChunkError("corrupt readings chunk: a frame names no or unknown channels")
    n_frames = sum(count for count, _mask in runs)
    n_readings = sum(count * mask.bit_count() for count, mask in runs)
    if n_readings > MAX_READINGS:
        raise ChunkError(f"corrupt readings chunk: over {MAX_READINGS} readings")
    pos = 4 + hlen

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        size = np.dtype(dtype).itemsize * count
        if count < 0 or pos + size > len(raw):
            raise ChunkError("corrupt readings chunk: a column is cut short")
        col = np.frombuffer(raw, dtype=dtype, count=count, offset=pos)
        pos += size
        return col

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
            ints = np.concatenate(([first], first + np.cumsum(diffs)))
            values[where] = ints / 10.0**d
    n = len(frame_of)
    status = take("u1", n) if has_status else np.zeros(n, dtype="u1")
    if pos != len(raw):
        raise ChunkError(f"corrupt readings chunk: {len(raw) - pos} bytes left over")
    return Columns(serial, t0, keys, key_of, frame_ms[frame_of], values, status)


def _csrc1_columns(data: bytes) -> Columns:
    try:
        (hlen,) = struct.unpack_from("<I", data, len(CSRC1))
        start = len(CSRC1) + 4
        header = json.loads(data[start : start + hlen])
        raw = _inflate(data[start + hlen :])
        n = int(header["n"])
        t0 = datetime.fromisoformat(header["t0"])
        serial = str(header["serial"])
        keys: list[Key] = []
        for channel, unit, gas, lel_vol in header["channels"]:
            keys.append((str(channel), str(unit), gas, lel_vol))
    except (struct.error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ChunkError(f"corrupt readings chunk: {exc}") from exc
    if len(raw) != n * 10 or n > MAX_READINGS:
        raise ChunkError(f"corrupt readings chunk: {len(raw)} column bytes for {n} readings")
    key_of = np.frombuffer(raw[4 * n : 5 * n], dtype="u1").astype(np.int64)
    if n and int(key_of.max()) >= len(keys):
        raise ChunkError("corrupt readings chunk: a channel index past the header's list")
    # the shortest decimal that is each float32: 20.9 comes back as 20.9
    values32 = np.frombuffer(raw[5 * n : 9 * n], dtype="<f4")
    return Columns(
        serial,
        t0,
        keys,
        key_of,
        np.cumsum(np.frombuffer(raw[: 4 * n], dtype="<i4").astype(np.int64)),
        np.array([float(str(v)) for v in values32], dtype=np.float64),
        np.frombuffer(raw[9 * n :], dtype="u1"),
    )


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


def decode_chunk(data: bytes) -> list[Reading]:
    """Readings of a chunk in either layout, in time order (within one receive time,
    in the order the channels first appear in the chunk)."""
    c = decode_columns(data)
    try:
        keys = [(Channel(ch), Unit(u), gas, lel) for ch, u, gas, lel in c.keys]
    except ValueError as exc:
        raise ChunkError(f"corrupt readings chunk: {exc}") from exc
    values = c.values.tolist()
    return [
        Reading(
            device_serial=c.serial,
            channel=keys[k][0],
            value=values[i],
            unit=keys[k][1],
            status=flags_from_byte(int(c.status[i])),
            received_at=c.t0 + timedelta(milliseconds=ms),
            gas=keys[k][2],
            lel_vol=keys[k][3],
        )
        for i, (k, ms) in enumerate(zip(c.key_of.tolist(), c.ms.tolist(), strict=True))
    ]


def chunk_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
