"""Live readings on the tablet: a per-channel window fed by a detector session.

Kivy-free. The feed only keeps readings; judging them is ``permits.monitoring``'s
job. ``consume`` runs on the app's asyncio loop next to Kivy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from permits.readings import Channel, Reading

# The 8-h TWA projection needs a shift of history; at one reading a second per
# channel that is under 30 000 readings, a few MB.
HORIZON = timedelta(hours=8, minutes=5)


class LiveFeed:
    def __init__(self, clock: Callable[[], datetime], horizon: timedelta = HORIZON) -> None:
        self.clock = clock
        self.horizon = horizon
        self._by_channel: dict[Channel, deque[Reading]] = {}
        self.device_serial: str | None = None
        self.last_received_at: datetime | None = None
        self.error: str | None = None

    def add(self, reading: Reading) -> None:
        if reading.received_at is None:
            reading = _with_received_at(reading, self.clock())
        assert reading.received_at is not None
        q = self._by_channel.setdefault(reading.channel, deque())
        q.append(reading)
        cutoff = reading.received_at - self.horizon
        while q and q[0].received_at is not None and q[0].received_at < cutoff:
            q.popleft()
        self.device_serial = reading.device_serial
        self.last_received_at = reading.received_at

    def window(self) -> dict[Channel, list[Reading]]:
        return {ch: list(q) for ch, q in self._by_channel.items()}

    def latest(self, channel: Channel) -> Reading | None:
        q = self._by_channel.get(channel)
        return q[-1] if q else None

    def recent(self, channel: Channel, since: datetime) -> list[Reading]:
        q = self._by_channel.get(channel, deque())
        return [r for r in q if r.received_at is not None and r.received_at >= since]

    async def consume(self, readings: AsyncIterator[Reading]) -> None:
        """Feed from a ``sensor_drivers`` session until it ends; a driver error is kept
        (shown as a fault) and the stream simply goes stale, never silently clean."""
        try:
            async for reading in readings:
                self.add(reading)
        except Exception as exc:  # a driver failure must show, not kill the UI loop
            self.error = f"{type(exc).__name__}: {exc}"


def _with_received_at(reading: Reading, at: datetime) -> Reading:
    return Reading(
        device_serial=reading.device_serial,
        channel=reading.channel,
        value=reading.value,
        unit=reading.unit,
        status=reading.status,
        received_at=at,
        device_time_ms=reading.device_time_ms,
        gas=reading.gas,
        lel_vol=reading.lel_vol,
    )
