"""An event as the tablet's store keeps it, for the sync client to send as it is.

A module of its own so the store can hand these out without importing the sync client
(httpx), which the app loads only when it syncs (cold start, docs/performance.md)."""

from __future__ import annotations

from typing import NamedTuple


class EncodedEvent(NamedTuple):
    """An event as its JSON text, as the tablet's store keeps it, with the fields a push
    orders its batches by. Pushed as it is, not decoded and encoded again: in the
    province bench, whose tablets are this sync client, reading each event back into
    objects and encoding it for the wire were a third of the load generator's CPU
    (profiled), and pushing the stored text took its CPU an event from 39–41 to 22–24 µs
    (docs/performance.md, wave 11). ``text`` must be one JSON object; the server refuses
    a batch that is not JSON. A named tuple, made from a stored row by
    ``EncodedEvent._make`` (0.15 against a frozen dataclass's 0.59 µs: building them was
    a tenth of the bench's CPU at full size).
    """

    event_id: str
    permit_id: str
    type: str
    occurred_at: str
    text: str
