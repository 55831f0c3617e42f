"""Stopping a reader always stops it. The tablet cancels the task that reads a session's
events when monitoring stops or a screen closes; a cancel that lands in the same loop
turn as a new frame must still end that task.

Python 3.11's ``asyncio.wait_for`` returned the frame and dropped the cancel in that
case, so the reader ran on for ever and whoever awaited it (the app's stop, a test's
teardown) hung. CI saw this as a HIL lane stuck for 200 s about once in 30 runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from permits.readings import Channel, Unit
from sensor_drivers import ChannelValue, DetectorSession, Frame, StreamStats
from sensor_drivers.sources import Source, SourceEvent

FRAME = Frame("gasl", (ChannelValue(Channel.O2, 20.9, Unit.VOL),))
GUARD_S = 5.0  # a hang guard, not a speed assertion


class Quiet(Source):
    """A link that is up and sends nothing of itself; the test hands frames in."""

    def __init__(self) -> None:
        self.device_serial = "TEST-1"
        self.stats = StreamStats()

    async def events(self) -> AsyncIterator[SourceEvent]:
        await asyncio.Event().wait()
        yield FRAME  # pragma: no cover - never reached

    async def close(self) -> None:
        pass


def test_a_cancel_in_the_same_turn_as_a_frame_ends_the_reader() -> None:
    async def main() -> list[Any]:
        seen: list[Any] = []
        async with DetectorSession(Quiet(), tick_s=0.5) as session:

            async def reader() -> None:
                async for event in session.events():
                    seen.append(event)

            task = asyncio.create_task(reader())
            for _ in range(20):
                await asyncio.sleep(0.01)  # the reader now waits for the next event
                # The frame arrives and the reader is stopped in one turn of the loop
                # (the session's own hand-over, as its pump would make it).
                session._put(FRAME)
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=GUARD_S)
                assert done, "the cancelled reader is still running"
                assert task.cancelled()
                task = asyncio.create_task(reader())
            task.cancel()
        return seen

    asyncio.run(main())
