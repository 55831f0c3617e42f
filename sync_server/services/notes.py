"""Notes by reviewers and admins on a permit or a hazard (kept, audited, never edited)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from sync_server.errors import NotFound
from sync_server.i18n import gettext as _
from sync_server.ids import Prose, SafeId
from sync_server.schema import hazards, notes, permits
from sync_server.security import Principal, Role
from sync_server.services import audit
from sync_server.services.tenancy import require_role, require_visible
from sync_server.storage import now_iso

ObjectKind = Literal["permit", "hazard"]


class NoteIn(BaseModel):
    object_kind: ObjectKind
    object_id: SafeId
    text: Prose = Field(min_length=1, max_length=5000)


def of(conn: Connection, kind: str, object_id: str) -> list[dict[str, Any]]:
    """The notes on one object, oldest first."""
    rows = conn.execute(
        sa.select(notes)
        .where(notes.c.object_kind == kind, notes.c.object_id == object_id)
        .order_by(notes.c.created_at)
    )
    return [
        {"note_id": n.note_id, "author": n.author, "text": n.text, "created_at": n.created_at}
        for n in rows
    ]


def insert(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    object_id: str,
    text: str,
) -> dict[str, Any]:
    """Store a note as written; the caller has checked the object and the role."""
    note = {
        "note_id": str(uuid.uuid4()),
        "enterprise_id": enterprise_id,
        "object_kind": kind,
        "object_id": object_id,
        "author_account_id": who.subject_id,
        "author": who.shown_name,
        "text": text,
        "created_at": now_iso(),
    }
    conn.execute(notes.insert().values(**note))
    return note


def _enterprise_of(conn: Connection, kind: ObjectKind, object_id: str) -> str:
    table, key = (
        (hazards, hazards.c.hazard_id) if kind == "hazard" else (permits, permits.c.permit_id)
    )
    row = conn.execute(sa.select(table.c.enterprise_id).where(key == object_id)).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return str(row.enterprise_id)


def add(conn: Connection, who: Principal, body: NoteIn) -> dict[str, Any]:
    """A reviewer's or admin's note on a permit or a hazard they may see (audited)."""
    require_role(who, Role.BUREAU_REVIEWER, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    enterprise_id = _enterprise_of(conn, body.object_kind, body.object_id)
    require_visible(conn, who, enterprise_id)
    note = insert(conn, who, enterprise_id, body.object_kind, body.object_id, body.text)
    audit.record(
        conn,
        who,
        "note.add",
        body.object_kind,
        body.object_id,
        enterprise_id=enterprise_id,
        after={"text": body.text},
    )
    return note
