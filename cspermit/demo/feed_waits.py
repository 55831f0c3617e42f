"""Waiting on the tablet's live feed, for scripted drives (the walkthrough, the alarm
benchmark, tests): event-driven, so a slow or loaded machine changes nothing but the
time it takes.

Kivy-free. The feed is the product's ``tablet_app.live.LiveFeed``; these waits only
listen to it (``LiveFeed.listen``), so the app carries nothing for its scripts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from permits.readings import Channel, Reading
from tablet_app.live import LiveFeed


async def wait_until(feed: LiveFeed, ready: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    """Wait, woken by each reading the feed receives, until ``ready()``; False on
    timeout."""
    arrived = asyncio.Event()

    def wake(_reading: Reading) -> None:
        arrived.set()

    feed.listen(wake)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not ready():
            left = deadline - loop.time()
            if left <= 0:
                return False
            arrived.clear()
            try:
                # asyncio.timeout keeps a cancel that lands as a reading arrives;
                # 3.11's wait_for would drop it and this loop would run on.
                async with asyncio.timeout(min(left, 0.5)):
                    await arrived.wait()
            except TimeoutError:
                continue
        return True
    finally:
        feed.unlisten(wake)


async def wait_received(feed: LiveFeed, count: int, timeout_s: float = 30.0) -> bool:
    """Wait until the feed has received ``count`` readings in total."""
    return await wait_until(feed, lambda: feed.received >= count, timeout_s)


def caught_up(feed: LiveFeed, at: datetime) -> bool:
    """Every channel the feed has seen has a reading received at or after ``at``."""
    latest = [r for r in map(feed.latest, Channel) if r is not None]
    return bool(latest) and all(r.received_at is not None and r.received_at >= at for r in latest)
