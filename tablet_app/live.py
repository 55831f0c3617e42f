"""Live readings on the tablet: a per-channel window fed by a detector session.

Kivy-free. The feed only keeps readings; judging them is ``permits.monitoring``'s
job. ``consume`` runs on the app's asyncio loop next to Kivy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import numpy as np

from permits.readings import Channel, Reading

# The feed keeps only what the screens look at: the latest value, the sampler's
# steadiness window and a minute or so for the chunk recorder. The 8-h history the
# TWA projection needs lives in the board's ``permits.monitoring.LiveMonitor``
# (numpy columns) and, for the record, in the sealed chunks of the local store.
HORIZON = timedelta(minutes=20)

Listener = Callable[[Reading], None]


class Columns:
    """One channel's recent readings as numpy columns (receive time in epoch seconds,
    value, trusted), appended per reading and trimmed to the horizon by slicing, so a
    screen drawing the last minutes never loops over readings in Python."""

    def __init__(self, capacity: int = 2048) -> None:
        self.t = np.empty(capacity, dtype=np.float64)
        self.v = np.empty(capacity, dtype=np.float64)
        self.ok = np.empty(capacity, dtype=bool)
        self.start = 0
        self.end = 0

    def append(self, at: float, value: float, trusted: bool, cutoff: float) -> None:
        if self.end == len(self.t):
            # drop what is past the horizon, then grow if the rest still fills it
            keep = slice(
                self.start + int(np.searchsorted(self.t[self.start : self.end], cutoff)), self.end
            )
            n = keep.stop - keep.start
            size = len(self.t) * 2 if n > len(self.t) // 2 else len(self.t)
            for name in ("t", "v", "ok"):
                old = getattr(self, name)
                new = np.empty(size, dtype=old.dtype)
                new[:n] = old[keep]
                setattr(self, name, new)
            self.start, self.end = 0, n
        self.t[self.end], self.v[self.end], self.ok[self.end] = at, value, trusted
        self.end += 1

    def since(self, at: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views (no copy) of the readings received at or after ``at``."""
        first = self.start + int(np.searchsorted(self.t[self.start : self.end], at))
        return self.t[first : self.end], self.v[first : self.end], self.ok[first : self.end]


class LiveFeed:
    def __init__(self, clock: Callable[[], datetime], horizon: timedelta = HORIZON) -> None:
        self.clock = clock
        self.horizon = horizon
        self._by_channel: dict[Channel, deque[Reading]] = {}
        self._columns: dict[Channel, Columns] = {}
        self.device_serial: str | None = None
        self.last_received_at: datetime | None = None
        self.error: str | None = None
        self._last_by_serial: dict[str, datetime] = {}
        self.received = 0  # readings added so far (the app logs it for a headless run)
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every reading as it arrives (the board's monitor)."""
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add(self, reading: Reading) -> None:
        if reading.received_at is None:
            reading = _with_received_at(reading, self.clock())
        assert reading.received_at is not None
        q = self._by_channel.setdefault(reading.channel, deque())
        q.append(reading)
        cutoff = reading.received_at - self.horizon
        while q and q[0].received_at is not None and q[0].received_at < cutoff:
            q.popleft()
        self._columns.setdefault(reading.channel, Columns()).append(
            reading.received_at.timestamp(), reading.value, reading.trusted, cutoff.timestamp()
        )
        self.device_serial = reading.device_serial
        self.last_received_at = reading.received_at
        self._last_by_serial[reading.device_serial] = reading.received_at
        self.received += 1
        for listener in self._listeners:
            listener(reading)

    def window(self) -> dict[Channel, list[Reading]]:
        return {ch: list(q) for ch, q in self._by_channel.items()}

    def last_by_serial(self) -> dict[str, datetime]:
        """When each detector last sent a reading (within the feed's horizon)."""
        if self.last_received_at is None:
            return {}
        cutoff = self.last_received_at - self.horizon
        return {k: v for k, v in self._last_by_serial.items() if v >= cutoff}

    def columns(self, channel: Channel) -> Columns | None:
        return self._columns.get(channel)

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
