"""A scripted drive's wait on the live feed (``cspermit.demo.feed_waits``) is woken by
each reading and still ends when it is cancelled in the same loop turn as a reading
arrives (3.11's ``asyncio.wait_for`` dropped that cancel; see
tests/sensor_drivers/test_session_cancel.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from cspermit.demo.feed_waits import wait_received
from permits.readings import Channel, Reading, Unit
from tablet_app.live import LiveFeed


def reading(value: float) -> Reading:
    return Reading("GX-1", Channel.O2, value, Unit.VOL, received_at=datetime.now(UTC))


def test_wait_until_is_woken_by_a_reading() -> None:
    async def main() -> None:
        feed = LiveFeed(lambda: datetime.now(UTC))
        waiting = asyncio.create_task(wait_received(feed, 1, timeout_s=5))
        await asyncio.sleep(0.01)
        feed.add(reading(20.9))
        assert await waiting is True
        assert await wait_received(feed, 2, timeout_s=0.05) is False  # times out: False

    asyncio.run(main())


def test_a_cancel_in_the_same_turn_as_a_reading_ends_the_wait() -> None:
    async def main() -> None:
        feed = LiveFeed(lambda: datetime.now(UTC))
        for n in range(1, 21):
            task = asyncio.create_task(wait_received(feed, 10_000, timeout_s=30))
            await asyncio.sleep(0.01)  # the wait now sleeps on the arrival event
            feed.add(reading(20.9))
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, "the cancelled wait is still running"
            assert task.cancelled()
            assert feed.received == n

    asyncio.run(main())
