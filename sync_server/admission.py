"""Admission control for event pushes: alarms first (docs/server.md, "Alarms first").

A batch that carries an urgent event (``permits.urgency``: an alarm, evacuation, entry
or exit recorded lately) is always let in. Bulk batches (a backlog after an outage) are
let in while fewer than ``max_bulk_pushes_in_flight`` of them are being stored by this
worker; past that the answer is 429 with ``Retry-After`` and the tablet's sync client
sends the batch again then, so an urgent push never waits behind a queue of catch-up
batches (each worker counts its own: the workers share nothing but the database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from permits.urgency import carries_urgent
from sync_server.errors import TooManyRequests
from sync_server.i18n import gettext as _
from sync_server.settings import Settings


class PushAdmission:
    def __init__(self) -> None:
        # Read and changed only on the worker's event loop (the handler is async).
        self.bulk_in_flight = 0
        self.urgent_admitted = 0
        self.bulk_deferred = 0

    @contextmanager
    def admit(self, settings: Settings, batch: list[Any]) -> Iterator[bool]:
        """Let the push in (yields whether it is urgent) or raise 429."""
        if carries_urgent(batch, datetime.now(UTC)):
            self.urgent_admitted += 1
            yield True
            return
        if self.bulk_in_flight >= settings.max_bulk_pushes_in_flight:
            self.bulk_deferred += 1
            raise TooManyRequests(
                _("the server is busy catching up; the batch is sent again in {n} s").format(
                    n=settings.bulk_retry_after_s
                ),
                retry_after=settings.bulk_retry_after_s,
                code="PUSH_DEFERRED",
            )
        self.bulk_in_flight += 1
        try:
            yield False
        finally:
            self.bulk_in_flight -= 1
