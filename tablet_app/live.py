"""Live readings on the tablet: a per-channel window fed by a detector session.

Kivy-free. The feed only keeps readings; judging them is ``permits.monitoring``'s
job. ``consume`` runs on the app's asyncio loop next to Kivy.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from permits.readings import Channel, Reading

# The feed keeps only what the screens look at: the latest value, the sampler's
# steadiness window and a minute or so for the chunk recorder. The 8-h history the
# TWA projection needs lives in the board's ``permits.monitoring.LiveMonitor``
# (numpy columns) and, for the record, in the sealed chunks of the local store.
HORIZON = timedelta(minutes=20)

Listener = Callable[[Reading], None]


class LiveFeed:
    def __init__(self, clock: Callable[[], datetime], horizon: timedelta = HORIZON) -> None:
        self.clock = clock
        self.horizon = horizon
        self._by_channel: dict[Channel, deque[Reading]] = {}
        self.device_serial: str | None = None
        self.last_received_at: datetime | None = None
        self.error: str | None = None
        self._last_by_serial: dict[str, datetime] = {}
        self.received = 0  # readings added so far (tests and the walkthrough wait on it)
        self._listeners: list[Listener] = []
        self._arrived: asyncio.Event | None = None

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every reading as it arrives (the board's monitor)."""
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def wait_until(self, ready: Callable[[], bool], timeout_s: float = 30.0) -> bool:
        """Wait, woken by each arriving reading, until ``ready()``; False on timeout.
        Event-driven: nothing to tune for a slow or loaded machine but the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not ready():
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._arrived = self._arrived or asyncio.Event()
            self._arrived.clear()
            try:
                # asyncio.timeout keeps a cancel that lands as a reading arrives;
                # 3.11's wait_for would drop it and this loop would run on.
                async with asyncio.timeout(min(left, 0.5)):
                    await self._arrived.wait()
            except TimeoutError:
                continue
        return True

    async def wait_received(self, count: int, timeout_s: float = 30.0) -> bool:
        """Wait until ``count`` readings have arrived in total."""
        return await self.wait_until(lambda: self.received >= count, timeout_s)

    def caught_up(self, at: datetime) -> bool:
        """Every channel seen so far has a reading received at or after ``at``."""
        return bool(self._by_channel) and all(
            q and q[-1].received_at is not None and q[-1].received_at >= at
            for q in self._by_channel.values()
        )

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
        self._last_by_serial[reading.device_serial] = reading.received_at
        self.received += 1
        for listener in self._listeners:
            listener(reading)
        if self._arrived is not None:
            self._arrived.set()

    def window(self) -> dict[Channel, list[Reading]]:
        return {ch: list(q) for ch, q in self._by_channel.items()}

    def last_by_serial(self) -> dict[str, datetime]:
        """When each detector last sent a reading (within the feed's horizon)."""
        if self.last_received_at is None:
            return {}
        cutoff = self.last_received_at - self.horizon
        return {k: v for k, v in self._last_by_serial.items() if v >= cutoff}

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
