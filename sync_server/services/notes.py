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
from sync_server.schema import hazards, notes
from sync_server.security import Principal, Role
from sync_server.services import audit, permit_lookup
from sync_server.services.tenancy import require_role, require_visible
from sync_server.storage import now_iso

ObjectKind = Literal["permit", "hazard"]


class NoteIn(BaseModel):
    object_kind: ObjectKind
    object_id: SafeId
    text: Prose = Field(min_length=1, max_length=5000)
    enterprise_id: SafeId | None = Field(
        default=None,
        description="a permit's enterprise, when several the reader sees hold its id",
    )


def of(
    conn: Connection, kind: str, object_id: str, enterprise_id: str | None = None
) -> list[dict[str, Any]]:
    """The notes on one object, oldest first (a permit's: of its enterprise, whose ids
    are its own)."""
    conds = [notes.c.object_kind == kind, notes.c.object_id == object_id]
    if enterprise_id is not None:
        conds.append(notes.c.enterprise_id == enterprise_id)
    rows = conn.execute(sa.select(notes).where(*conds).order_by(notes.c.created_at))
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


def _enterprise_of(conn: Connection, who: Principal, body: NoteIn) -> str:
    if body.object_kind == "permit":
        return str(permit_lookup.find(conn, who, body.object_id, body.enterprise_id).enterprise_id)
    row = conn.execute(
        sa.select(hazards.c.enterprise_id).where(hazards.c.hazard_id == body.object_id)
    ).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return str(row.enterprise_id)


def add(conn: Connection, who: Principal, body: NoteIn) -> dict[str, Any]:
    """A reviewer's or admin's note on a permit or a hazard they may see (audited)."""
    require_role(who, Role.BUREAU_REVIEWER, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    enterprise_id = _enterprise_of(conn, who, body)
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
