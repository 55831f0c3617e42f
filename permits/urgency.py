"""Which pushed events may not wait behind a backlog (docs/server.md, "Alarms first"):
an alarm, an evacuation, an entry or an exit recorded lately. The tablet sends the
batches that carry one in the urgent lane; the server checks the same rule on the
batch itself, so a tablet cannot jump the queue with old records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from permits.events import EventType

URGENT_EVENT_TYPES = frozenset(
    {
        EventType.ALARM_RAISED,
        EventType.EVACUATION_ORDERED,
        EventType.ENTRANT_ENTERED,
        EventType.ENTRANT_EXITED,
        EventType.HOT_WORK_ALARM_RAISED,
    }
)
# Recorded within this of the push: a job happening now. An alarm recorded during an
# outage and pushed hours later is history, sent with the rest of the backlog.
URGENT_WINDOW = timedelta(minutes=10)
# The header a tablet sets on each batch (a reverse proxy may route by it): urgent,
# or bulk for a backlog, which the server admits before reading the body (a deferred
# bulk batch then costs it no parsing). A batch in no lane is judged by its events.
LANE_HEADER = "X-CSPermit-Lane"
URGENT_LANE = "urgent"
BULK_LANE = "bulk"


def is_urgent_event(event: Mapping[str, Any], now: datetime) -> bool:
    """``event`` is the JSON form (``permits.events`` ``to_json``); anything malformed
    is simply not urgent (the ingest refuses it with its own reasons)."""
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in URGENT_EVENT_TYPES:
        return False
    occurred = event.get("occurred_at")
    if not isinstance(occurred, str):
        return False
    try:
        at = datetime.fromisoformat(occurred)
    except ValueError:
        return False
    if at.tzinfo is None:
        return False
    # Both ways: an event dated ahead of the server (a clock ahead, or a tablet that
    # would put its whole backlog in the urgent lane) is urgent only within the window.
    return abs(now - at) <= URGENT_WINDOW


def carries_urgent(events: Iterable[Any], now: datetime) -> bool:
    return any(isinstance(e, Mapping) and is_urgent_event(e, now) for e in events)
