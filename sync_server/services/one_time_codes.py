"""What enrolment codes and sign-on codes share: their state, revoking one still open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.security import Principal
from sync_server.services import audit
from sync_server.storage import now_iso, parse_iso

USED, EXPIRED, REVOKED = "used", "expired", "revoked"


def state_of(row: Any, now: datetime, open_state: str) -> str:
    """A code's state: used, revoked, expired, or ``open_state`` while it can be used."""
    if row.used_at is not None:
        return USED
    if row.revoked_at is not None:
        return REVOKED
    if parse_iso(row.expires_at) <= now:
        return EXPIRED
    return open_state


def revoke_open(
    conn: Connection,
    who: Principal,
    table: sa.Table,
    enterprise_id: str,
    code_id: str,
    object_kind: str,
) -> bool:
    """Revoke the enterprise's code ``code_id`` if neither used nor revoked; audited as
    ``<object_kind>.revoke``. False when there was nothing to revoke (nothing changes)."""
    t = table.c
    done = conn.execute(
        table.update()
        .where(
            t.code_id == code_id,
            t.enterprise_id == enterprise_id,
            t.used_at.is_(None),
            t.revoked_at.is_(None),
        )
        .values(revoked_at=now_iso())
    )
    if done.rowcount == 1:
        audit.record(
            conn, who, f"{object_kind}.revoke", object_kind, code_id, enterprise_id=enterprise_id
        )
    return bool(done.rowcount == 1)
