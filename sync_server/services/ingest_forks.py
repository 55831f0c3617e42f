"""The ingest's forks (docs/server.md): another event where the chain holds one is kept
for review as a version conflict when it is a genuine signed event of an enrolled device
and the permit has not reached its cap. Split from ``ingest`` (the module size limit);
``ingest`` is its only caller."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.i18n import gettext as _
from sync_server.schema import devices, version_conflicts
from sync_server.services import permit_members
from sync_server.settings import Settings
from sync_server.storage import now_iso


def _public_keys(conn: Connection, enterprise_id: str) -> dict[str, str]:
    # Revoked devices included: events they signed before revocation stay verifiable.
    rows = conn.execute(
        sa.select(devices.c.device_id, devices.c.public_key_b64).where(
            devices.c.enterprise_id == enterprise_id
        )
    )
    return {r.device_id: r.public_key_b64 for r in rows}


def _known_conflict(conn: Connection, ev: domain.ParsedEvent) -> str | None:
    row = conn.execute(
        sa.select(version_conflicts.c.conflict_id).where(
            version_conflicts.c.event_id == ev.event_id,
            version_conflicts.c.incoming_hash == ev.hash,
        )
    ).first()
    return None if row is None else str(row.conflict_id)


def fork_refused(
    conn: Connection, settings: Settings, enterprise_id: str, ev: domain.ParsedEvent
) -> tuple[str, str] | None:
    """Why a fork is not stored as a version conflict, or None to store it."""
    key = _public_keys(conn, enterprise_id).get(ev.device_id)
    if key is None or not domain.sealed_by(ev, key):
        return (
            "BAD_SIGNATURE",
            _("a fork whose hash or signature does not verify is not kept"),
        )
    if _known_conflict(conn, ev) is not None:
        return None  # this very fork again: answered with the conflict already kept
    held = conn.execute(
        sa.select(sa.func.count())
        .select_from(version_conflicts)
        .where(
            version_conflicts.c.enterprise_id == enterprise_id,
            version_conflicts.c.permit_id == ev.permit_id,
        )
    ).scalar()
    if int(held or 0) >= settings.max_conflicts_per_permit:
        permit_members.flag(conn, enterprise_id, ev.permit_id, "CONFLICT_LIMIT")
        return (
            "CONFLICT_LIMIT",
            _(
                "this permit already holds {n} version conflicts for review; no more are kept"
            ).format(n=settings.max_conflicts_per_permit),
        )
    return None


def store_conflict(
    conn: Connection,
    enterprise_id: str,
    ev: domain.ParsedEvent,
    existing_hash: str,
    received: datetime,
) -> str:
    known = _known_conflict(conn, ev)
    if known is not None:
        return known
    conflict_id = str(uuid.uuid4())
    conn.execute(
        version_conflicts.insert().values(
            conflict_id=conflict_id,
            enterprise_id=enterprise_id,
            permit_id=ev.permit_id,
            seq=ev.seq,
            existing_hash=existing_hash,
            incoming_hash=ev.hash,
            event_id=ev.event_id,
            device_id=ev.device_id,
            body=ev.raw,
            received_at=now_iso(received),
            status="open",
        )
    )
    permit_members.flag(conn, enterprise_id, ev.permit_id, "VERSION_CONFLICT")
    return conflict_id
