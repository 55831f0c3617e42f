"""Continuous-monitoring record: readings packed into compressed, hashed chunks.

About a minute of one detector's readings becomes one chunk: a small JSON
header, then columns (time deltas in ms as int32, channel index uint8, value
float32, status byte uint8), each column compressed together with zlib. Steady
gas values and one-second spacing compress to well under 2 bytes per value.
The chunk's SHA-256 (over the compressed bytes, as uploaded) goes into the
permit chain as a ``readings_chunk_recorded`` event, so the record is
tamper-evident and content-addressed for sync.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from permits.events import ReadingsChunkRecorded
from permits.readings import Channel, Reading, Unit, flags_from_byte, flags_to_byte
from tablet_app.desk import PermitDesk
from tablet_app.live import LiveFeed

MAGIC = b"CSRC1"
CHUNK_SPAN = timedelta(minutes=1)


class ChunkError(ValueError):
    """Bytes that are not a readings chunk of this format."""


def encode_chunk(readings: Sequence[Reading]) -> bytes:
    if not readings:
        raise ChunkError("a chunk needs at least one reading")
    ordered = sorted(readings, key=lambda r: r.received_at or datetime.min)
    if any(r.received_at is None for r in ordered):
        raise ChunkError("every reading in a chunk needs received_at")
    serials = {r.device_serial for r in ordered}
    if len(serials) != 1:
        raise ChunkError(f"a chunk holds one detector, got {sorted(serials)}")
    keys = list(dict.fromkeys((r.channel.value, r.unit.value, r.gas, r.lel_vol) for r in ordered))
    t0 = ordered[0].received_at
    assert t0 is not None
    ms = np.array(
        [round((r.received_at - t0).total_seconds() * 1000) for r in ordered],
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
            np.array(
                [keys.index((r.channel.value, r.unit.value, r.gas, r.lel_vol)) for r in ordered],
                dtype="u1",
            ).tobytes(),
            np.array([r.value for r in ordered], dtype="<f4").tobytes(),
            np.array([flags_to_byte(r.status) for r in ordered], dtype="u1").tobytes(),
        )
    )
    return MAGIC + struct.pack("<I", len(header)) + header + zlib.compress(columns, 9)


def decode_chunk(data: bytes) -> list[Reading]:
    if not data.startswith(MAGIC):
        raise ChunkError("not a readings chunk (bad magic)")
    try:
        (hlen,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(data[start : start + hlen])
        raw = zlib.decompress(data[start + hlen :])
    except (struct.error, ValueError, zlib.error) as exc:
        raise ChunkError(f"corrupt readings chunk: {exc}") from exc
    n = int(header["n"])
    if len(raw) != n * 10:
        raise ChunkError(f"corrupt readings chunk: {len(raw)} column bytes for {n} readings")
    deltas = np.frombuffer(raw[: 4 * n], dtype="<i4")
    chan = np.frombuffer(raw[4 * n : 5 * n], dtype="u1")
    values = np.frombuffer(raw[5 * n : 9 * n], dtype="<f4")
    status = np.frombuffer(raw[9 * n :], dtype="u1")
    t0 = datetime.fromisoformat(header["t0"])
    times = np.cumsum(deltas.astype(np.int64))
    keys = header["channels"]
    out = []
    for i in range(n):
        channel, unit, gas, lel_vol = keys[int(chan[i])]
        out.append(
            Reading(
                device_serial=header["serial"],
                channel=Channel(channel),
                # the shortest decimal that is this float32: 20.9 comes back as 20.9
                value=float(str(values[i])),
                unit=Unit(unit),
                status=flags_from_byte(int(status[i])),
                received_at=t0 + timedelta(milliseconds=int(times[i])),
                gas=gas,
                lel_vol=lel_vol,
            )
        )
    return out


def chunk_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ChunkRecorder:
    """Seals the live window into chunks while monitoring runs: store, then chain."""

    def __init__(self, desk: PermitDesk, feed: LiveFeed, span: timedelta = CHUNK_SPAN) -> None:
        self.desk = desk
        self.feed = feed
        self.span = span
        self.last_end: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.last_end is None or now - self.last_end >= self.span

    def flush(self, permit_id: str, actor: str, now: datetime) -> list[str]:
        """Chunk every reading received since the last chunk, one chunk per detector;
        store each, then record it in the chain. Returns the hashes."""
        since = self.last_end
        by_serial: dict[str, list[Reading]] = {}
        for rs in self.feed.window().values():
            for r in rs:
                if r.received_at is None or r.received_at > now:
                    continue
                if since is not None and r.received_at <= since:
                    continue
                by_serial.setdefault(r.device_serial, []).append(r)
        hashes = []
        ends = []
        for serial, readings in sorted(by_serial.items()):
            data = encode_chunk(readings)
            digest = chunk_hash(data)
            times = [r.received_at for r in readings if r.received_at is not None]
            start, end = min(times), max(times)
            self.desk.store.put_chunk(
                digest,
                data,
                device_serial=serial,
                started_at=start.isoformat(),
                ended_at=end.isoformat(),
                n_values=len(readings),
                permit_id=permit_id,
            )
            self.desk.record(
                permit_id,
                ReadingsChunkRecorded(
                    sha256=digest,
                    detector_serial=serial,
                    start=start,
                    end=end,
                    channels=tuple(dict.fromkeys(r.channel.value for r in readings)),
                    values=len(readings),
                ),
                actor=actor,
            )
            hashes.append(digest)
            ends.append(end)
        if ends:
            self.last_end = max(ends)
        return hashes
