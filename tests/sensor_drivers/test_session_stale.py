"""The stale-stream fault cannot be starved: whatever a link delivers (a flood of garbage,
objects that are not events, nothing at all, or an end), the session fails closed on time.

The sources here are small :class:`~sensor_drivers.sources.Source` implementations, as a
third-party transport would write them; the session, the quality layer and the clock are
the production ones. Real ptys and sockets cannot produce a source that never suspends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from permits.readings import Channel, Reading, Unit
from sensor_drivers import (
    ChannelValue,
    DetectorSession,
    DriverErrorCode,
    Frame,
    FrameError,
    IssueCode,
    LinkError,
    QualityIssue,
    QualityLimits,
    StreamStats,
)
from sensor_drivers.sources import Source, SourceEvent

T = TypeVar("T")
GUARD_S = 30.0  # a hang guard, not a speed assertion
FLOOD_S = 10.0  # far longer than the stale limit, so "on time" has a wide margin


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, GUARD_S))


def limits(stale_after_s: float) -> QualityLimits:
    return replace(QualityLimits.defaults(), stale_after_s=stale_after_s)


FRAME = Frame("gasl", (ChannelValue(Channel.O2, 20.9, Unit.VOL),))


class _Source(Source):
    def __init__(self) -> None:
        self.device_serial = "TEST-1"
        self.stats = StreamStats()
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class TightGarbage(_Source):
    """Yields bad frames back to back and never awaits, for up to FLOOD_S wall seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.flood_over = False

    async def events(self) -> AsyncIterator[SourceEvent]:
        started = time.monotonic()
        while time.monotonic() - started < FLOOD_S:
            self.stats.corrupt_frames += 1
            yield FrameError(DriverErrorCode.BAD_CHECKSUM, "garbage")
        self.flood_over = True
        await asyncio.Event().wait()


async def first_stale(session: DetectorSession) -> QualityIssue:
    async for event in session.events():
        if isinstance(event, QualityIssue) and event.code is IssueCode.STALE_STREAM:
            return event
    raise AssertionError("the stream ended without a stale fault")


def test_a_source_that_never_suspends_cannot_starve_the_stale_check() -> None:
    async def main() -> None:
        source = TightGarbage()
        async with DetectorSession(source, limits=limits(0.3), tick_s=0.05) as session:
            issue = await first_stale(session)
            # Before the fix the flood held the loop until it stopped by itself.
            assert not source.flood_over, "stale fault only after the flood ended"
            assert issue.severity == "fault"
            assert session.health.stale
            assert session.health.errors.get("BAD_CHECKSUM", 0) > 0

    run(main())


class NotEvents(_Source):
    """A broken backend: yields objects that are not events at all."""

    async def events(self) -> AsyncIterator[SourceEvent]:
        while True:
            yield b"\x00\xff"  # type: ignore[misc]
            await asyncio.sleep(0.01)


def test_objects_that_are_not_events_are_counted_and_the_stream_goes_stale() -> None:
    async def main() -> None:
        async with DetectorSession(NotEvents(), limits=limits(0.3), tick_s=0.05) as session:
            issue = await first_stale(session)
            assert issue.severity == "fault"
            assert session.health.errors.get("BAD_RESPONSE", 0) > 0

    run(main())


class Ends(_Source):
    """A link that sends one frame and then simply ends its stream."""

    async def events(self) -> AsyncIterator[SourceEvent]:
        yield FRAME


def test_a_link_that_just_ends_is_a_lost_detector() -> None:
    async def main() -> None:
        async with DetectorSession(Ends(), limits=limits(0.3), tick_s=0.05) as session:
            seen: list[Any] = []
            with pytest.raises(LinkError) as caught:
                async for event in session.events():
                    seen.append(event)
            assert caught.value.code is DriverErrorCode.DETECTOR_LOST
            assert [e.value for e in seen if isinstance(e, Reading)] == [20.9]
            with pytest.raises(LinkError):  # and it stays lost
                async for _ in session.events():
                    pass

    run(main())


class OneFrameThenSilence(_Source):
    async def events(self) -> AsyncIterator[SourceEvent]:
        yield FRAME
        await asyncio.Event().wait()


def test_a_backlog_is_judged_by_when_the_frame_arrived() -> None:
    async def main() -> None:
        async with DetectorSession(
            OneFrameThenSilence(), limits=limits(1.0), tick_s=0.05
        ) as session:
            await asyncio.sleep(3.0)  # the reader is busy; the frame waits in the session
            reading_from = datetime.now(UTC)
            started = time.monotonic()
            events = []
            async for event in session.events():
                events.append(event)
                if isinstance(event, QualityIssue) and event.code is IssueCode.STALE_STREAM:
                    break
            (reading,) = [e for e in events if isinstance(e, Reading)]
            # Stamped when it arrived (about 3 s ago), not when it was read.
            assert reading.received_at is not None
            assert reading.received_at < reading_from - timedelta(seconds=1.5)
            # So the stream is already stale: no fresh 1 s grace for an old frame.
            assert time.monotonic() - started < 1.0
            assert events[-1].facts["age_s"] >= 2.0  # type: ignore[union-attr]

    run(main())
