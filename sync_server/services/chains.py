"""A permit's stored chain, read one way: its event rows in sequence order (permit ids
are unique per enterprise, migration 0006), or the same events parsed by the core.

(``services.ingest_ledger.load_chain`` reads the chain inside a push on its own.)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.schema import events


def event_rows(
    conn: Connection, enterprise_id: str, permit_id: str, *, event_type: str | None = None
) -> list[Any]:
    """Every stored event row of one permit, in order; only ``event_type``'s if given."""
    query = sa.select(events).where(
        events.c.enterprise_id == enterprise_id, events.c.permit_id == permit_id
    )
    if event_type is not None:
        query = query.where(events.c.type == event_type)
    return list(conn.execute(query.order_by(events.c.seq)))


def parsed(
    conn: Connection, enterprise_id: str, permit_id: str, *, event_type: str | None = None
) -> list[domain.ParsedEvent]:
    """The same events parsed by the core (``domain.parse_event``)."""
    return [
        domain.parse_event(r.body)
        for r in event_rows(conn, enterprise_id, permit_id, event_type=event_type)
    ]
