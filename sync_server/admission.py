"""Admission control for event pushes: alarms first (docs/server.md, "Alarms first").

A batch that carries an urgent event (``permits.urgency``: an alarm, evacuation, entry
or exit recorded lately) is always let in at once, never held and never deferred. Bulk
batches (a backlog after an outage) are let in while fewer than
``max_bulk_pushes_in_flight`` of them are being stored by this worker; past that a bulk
batch waits, first come first served, for a slot to free for up to
``bulk_wait_for_slot_s`` (so the worker's slots stay busy through a storm instead of
idling until the deferred tablets come back), and is answered 429 with ``Retry-After``
when none frees in time or ``max_bulk_pushes_waiting`` already wait (their bodies are
held in memory). ``Retry-After`` is when this worker expects to have served the pushes
now waiting (their count times how long a bulk push has lately held its slot, over the
slots; at least ``bulk_retry_after_s``, at most ``MAX_RETRY_AFTER_S``): a fixed second
brought a storm's deferred tablets back long before their turn, each to be deferred
again (docs/performance.md, the full-size storm). The tablet's sync client sends a
deferred batch again then. Each worker counts its own: the workers share nothing but
the database."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from permits.urgency import carries_urgent
from sync_server.errors import TooManyRequests
from sync_server.i18n import gettext as _
from sync_server.settings import Settings

MAX_RETRY_AFTER_S = 30
# How much each finished bulk push moves the estimate of a slot's holding time.
_HOLD_WEIGHT = 0.2


class PushAdmission:
    def __init__(self) -> None:
        # Read and changed only on the worker's event loop (the handler is async).
        self.bulk_in_flight = 0
        self.urgent_admitted = 0
        self.bulk_deferred = 0
        self.bulk_waited = 0
        # Bulk pushes waiting for a slot, oldest first; a freed slot is handed to the
        # oldest (its future is set) without being counted free in between.
        self._waiting: deque[asyncio.Future[None]] = deque()
        # Seconds a bulk push has lately held its slot (a moving average).
        self.bulk_hold_s = 0.0

    @property
    def bulk_waiting(self) -> int:
        return sum(1 for f in self._waiting if not f.done())

    @asynccontextmanager
    async def admit(self, settings: Settings, batch: list[Any]) -> AsyncIterator[bool]:
        """Let the push in (yields whether it is urgent), after a bounded wait for a
        bulk slot, or raise 429."""
        if carries_urgent(batch, datetime.now(UTC)):
            self.urgent_admitted += 1
            yield True
            return
        async with self.admit_declared_bulk(settings):
            yield False

    @asynccontextmanager
    async def admit_declared_bulk(self, settings: Settings) -> AsyncIterator[None]:
        """A batch its tablet sent in the bulk lane (``permits.urgency.BULK_LANE``), let
        in before its body is read: a push that waits holds no body, and one deferred
        costs neither the parsing nor a transaction. Declaring bulk can only put a
        tablet's own batch behind others, so the declaration is believed; a batch in no
        lane is classified by its content (``admit``)."""
        if not await self._take_bulk_slot(settings):
            raise self._deferred(settings)
        started = time.monotonic()
        try:
            yield
        finally:
            self._release(time.monotonic() - started)

    async def _take_bulk_slot(self, settings: Settings) -> bool:
        if self.bulk_in_flight < settings.max_bulk_pushes_in_flight:
            self.bulk_in_flight += 1
            return True
        if await self._wait_for_slot(settings):
            return True
        self.bulk_deferred += 1
        return False

    def retry_after_s(self, settings: Settings) -> int:
        """Seconds until the pushes waiting now are expected to have been served."""
        slots = max(1, settings.max_bulk_pushes_in_flight)
        expected = math.ceil((self.bulk_waiting + 1) * self.bulk_hold_s / slots)
        return min(MAX_RETRY_AFTER_S, max(settings.bulk_retry_after_s, expected))

    def _deferred(self, settings: Settings) -> TooManyRequests:
        n = self.retry_after_s(settings)
        return TooManyRequests(
            _("the server is busy catching up; the batch is sent again in {n} s").format(n=n),
            retry_after=n,
            code="PUSH_DEFERRED",
        )

    async def _wait_for_slot(self, settings: Settings) -> bool:
        """Whether a slot was handed to this push within the bound."""
        if settings.bulk_wait_for_slot_s <= 0 or self.bulk_waiting >= (
            settings.max_bulk_pushes_waiting
        ):
            return False
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(slot)
        self.bulk_waited += 1
        try:
            await asyncio.wait((slot,), timeout=settings.bulk_wait_for_slot_s)
        except BaseException:  # the request was cancelled (the tablet hung up)
            if slot.done():
                self._release()  # handed over just before: give it on
            else:
                self._waiting.remove(slot)
                slot.cancel()
            raise
        if slot.done():
            return True
        self._waiting.remove(slot)
        slot.cancel()
        return False

    def _release(self, held_s: float | None = None) -> None:
        if held_s is not None:
            self.bulk_hold_s += _HOLD_WEIGHT * (held_s - self.bulk_hold_s)
        while self._waiting:
            slot = self._waiting.popleft()
            if not slot.done():
                slot.set_result(None)  # the slot goes to the oldest waiting push
                return
        self.bulk_in_flight -= 1
