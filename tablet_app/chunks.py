"""The continuous-monitoring record on the tablet: the live window sealed into readings
chunks (the codec is ``permits.chunks``), stored, then hashed into the permit chain."""

from __future__ import annotations

from datetime import datetime, timedelta

from permits.chunks import chunk_hash, encode_chunk
from permits.events import ReadingsChunkRecorded
from permits.readings import Reading
from tablet_app.desk import PermitDesk
from tablet_app.live import LiveFeed

# Sealing span: five minutes (docs/tablet.md says why). Each chunk costs a signed chain
# event (~700 bytes) and an upload round trip (~600 bytes) whatever it holds: at one
# minute that alone is over 5 bytes a value against the 2-byte target. Readings not yet
# sealed live in the LiveFeed (20 minutes kept), so the span must stay well under its
# horizon. Alarms, entries and evacuations are chain events of their own and are never
# held back by the span.
CHUNK_SPAN = timedelta(minutes=5)


class ChunkRecorder:
    """Seals the live window into chunks while monitoring runs: store, then chain.

    A chunk is due each ``span``, and at once when the permit has an alarm it did not
    have at the last seal: the readings that led to an alarm are then in the store, the
    chain and the next sync round, not waiting out the span in the feed's memory."""

    def __init__(self, desk: PermitDesk, feed: LiveFeed, span: timedelta = CHUNK_SPAN) -> None:
        self.desk = desk
        self.feed = feed
        self.span = span
        self.last_end: datetime | None = None
        self.permit_id: str | None = None
        self._alarms_at_seal: frozenset[str] = frozenset()

    def due(self, now: datetime) -> bool:
        if self.last_end is None or now - self.last_end >= self.span:
            return True
        if self.permit_id is None:
            return False
        return not set(self.desk.state(self.permit_id).alarms) <= self._alarms_at_seal

    def flush(self, permit_id: str, actor: str, now: datetime) -> list[str]:
        """Chunk every reading received since the last chunk, one chunk per detector;
        store each, then record it in the chain. Returns the hashes."""
        self.permit_id = permit_id
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
        self._alarms_at_seal = frozenset(self.desk.state(permit_id).alarms)
        return hashes
