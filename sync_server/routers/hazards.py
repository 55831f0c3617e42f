"""Major accident hazards (重大事故隐患), the closed loop of RULES.md §6, and notes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from sync_server.deps import Conn, CurrentPrincipal
from sync_server.errors import Forbidden, NotFound, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import hazards, notes, permits
from sync_server.security import Role
from sync_server.services import audit
from sync_server.services import hazards as hazard_service
from sync_server.services.reference import hazard_summary
from sync_server.services.tenancy import (
    require_role,
    require_visible,
    scope_filter,
    visible_enterprises,
)
from sync_server.storage import now_iso

router = APIRouter(prefix="/api/v1", tags=["hazards"])

# A tablet's report keeps its own id; the server's hazard id is derived from it, so a report
# resent after a lost answer (the tablet is offline for days) files one hazard, not two.
_TABLET_REPORTS = uuid.UUID("6f1d8a52-2b7e-4c1a-9a43-5d0c2f8e7b10")


class HazardIn(BaseModel):
    enterprise_id: str
    title: str = Field(min_length=1, max_length=300)
    source: Literal["self_inspection", "worker_report", "bureau_inspection"] = "self_inspection"
    category: str = Field(
        default="MEM10-13-1",
        max_length=64,
        description="e.g. MEM10-13-1 (no ledger entry / no warning sign), MEM10-13-2",
    )
    space_id: str | None = None
    permit_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class HazardAction(BaseModel):
    action: Literal["plan", "rectify", "verify", "reject", "close"] = Field(
        description="reject: the verification failed, back to planned"
    )
    person: str | None = Field(
        default=None, description="who did it on site; defaults to the signed-in account"
    )
    measures: str | list[str] | None = None
    responsible: str | None = None
    deadline: str | None = Field(default=None, description="ISO 8601 with offset, in the future")
    evidence: str | list[str] | None = Field(
        default=None, description="notes, or sha256 of photos uploaded as attachments"
    )
    note: str | None = None


class NoteIn(BaseModel):
    object_kind: Literal["permit", "hazard"]
    object_id: str
    text: str = Field(min_length=1, max_length=5000)


def _hazard_out(row: Any) -> dict[str, Any]:
    out = hazard_summary(row)
    out["overdue"] = hazard_service.is_overdue(row)
    out["state"] = row.data
    out["state"]["overdue"] = out["overdue"]
    return out


@router.post("/hazards", status_code=201)
def report_hazard(
    body: HazardIn, conn: Conn, who: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    """Enterprise admins report self-inspection and worker-report hazards; bureau reviewers
    file inspection findings (their source is always ``bureau_inspection``); an enrolled
    tablet files worker reports for its own enterprise, idempotent by the report id it sends
    in ``details.tablet_report_id`` (a resend answers 200 with the hazard filed first)."""
    require_visible(conn, who, body.enterprise_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.BUREAU_REVIEWER, Role.OPERATOR, Role.DEVICE)
    source = body.source
    hazard_id: str | None = None
    if who.role is Role.DEVICE:
        if source != "worker_report":
            raise Forbidden(
                _("a tablet files worker reports only"), code="ROLE_FORBIDDEN", field="source"
            )
        report_id = body.details.get("tablet_report_id")
        if not isinstance(report_id, str) or not 1 <= len(report_id) <= 64:
            raise Unprocessable(
                _("a tablet's report needs its own id (1 to 64 characters)"),
                code="INVALID_INPUT",
                field="details.tablet_report_id",
            )
        hazard_id = str(uuid.uuid5(_TABLET_REPORTS, f"{body.enterprise_id}/{report_id}"))
        existing = conn.execute(sa.select(hazards).where(hazards.c.hazard_id == hazard_id)).first()
        if existing is not None:
            response.status_code = 200
            return _hazard_out(existing)
    if who.role is Role.BUREAU_REVIEWER:
        source = "bureau_inspection"
    elif source == "bureau_inspection":
        raise Forbidden(
            _("only a bureau reviewer files bureau inspection findings"),
            code="ROLE_FORBIDDEN",
            field="source",
        )
    if body.permit_id is not None:
        p = conn.execute(
            sa.select(permits.c.enterprise_id).where(permits.c.permit_id == body.permit_id)
        ).first()
        if p is None or p.enterprise_id != body.enterprise_id:
            raise Unprocessable(_("unknown permit"), code="UNKNOWN_PERMIT", field="permit_id")
    hazard_id = hazard_service.create(
        conn,
        enterprise_id=body.enterprise_id,
        source=source,
        category=body.category,
        title=body.title,
        actor=who.name,
        space_id=body.space_id,
        permit_id=body.permit_id,
        details=body.details,
        hazard_id=hazard_id,
    )
    row = hazard_service.get(conn, hazard_id)
    out = _hazard_out(row)
    audit.record(
        conn, who, "hazard.report", "hazard", hazard_id, enterprise_id=body.enterprise_id, after=out
    )
    return out


@router.get("/hazards")
def list_hazards(
    conn: Conn,
    who: CurrentPrincipal,
    enterprise_id: str | None = None,
    status: str | None = None,
    source: str | None = None,
    open_only: bool = False,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Hazards in scope. ``open_only``: not yet closed (动态清零 counts these to zero)."""
    if who.role in (Role.DEVICE, Role.AGGREGATOR):
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")
    conds: list[Any] = [scope_filter(hazards.c.enterprise_id, visible_enterprises(conn, who))]
    if enterprise_id:
        conds.append(hazards.c.enterprise_id == enterprise_id)
    if status:
        conds.append(hazards.c.status == status)
    if source:
        conds.append(hazards.c.source == source)
    if open_only or overdue:
        conds.append(hazards.c.status != "closed")
    if overdue:
        conds.append(hazards.c.deadline.is_not(None))
        conds.append(hazards.c.deadline < now_iso())
        conds.append(hazards.c.status == "planned")
    where = sa.and_(*conds)
    total = conn.execute(sa.select(sa.func.count()).select_from(hazards).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(hazards)
        .where(where)
        .order_by(hazards.c.created_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return {
        "items": [_hazard_out(r) for r in rows],
        "total": int(total),
        "limit": limit,
        "offset": offset,
    }


def _visible_hazard(conn: Any, who: Any, hazard_id: str) -> Any:
    if who.role in (Role.DEVICE, Role.AGGREGATOR):
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")
    try:
        row = hazard_service.get(conn, hazard_id)
        require_visible(conn, who, row.enterprise_id)
    except NotFound:
        raise
    return row


@router.get("/hazards/{hazard_id}")
def get_hazard(hazard_id: str, conn: Conn, who: CurrentPrincipal) -> dict[str, Any]:
    row = _visible_hazard(conn, who, hazard_id)
    out = _hazard_out(row)
    out["actions"] = hazard_service.actions(conn, hazard_id)
    out["notes"] = _notes(conn, "hazard", hazard_id)
    return out


@router.post("/hazards/{hazard_id}/actions")
def act_on_hazard(
    hazard_id: str, body: HazardAction, conn: Conn, who: CurrentPrincipal
) -> dict[str, Any]:
    """The enterprise moves its hazard along: plan (measures, responsible, deadline) →
    rectify (evidence) → verify (by someone other than the rectifier) → close (销号)."""
    row = _visible_hazard(conn, who, hazard_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    data = body.model_dump(exclude_none=True, exclude={"action", "person"})
    actor = body.person or who.name
    before, after = hazard_service.act(conn, hazard_id, body.action, actor, data)
    audit.record(
        conn,
        who,
        f"hazard.{body.action}",
        "hazard",
        hazard_id,
        enterprise_id=row.enterprise_id,
        before=before,
        after=after,
    )
    return get_hazard(hazard_id, conn, who)


def _notes(conn: Any, kind: str, object_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(notes)
        .where(notes.c.object_kind == kind, notes.c.object_id == object_id)
        .order_by(notes.c.created_at)
    )
    return [
        {"note_id": n.note_id, "author": n.author, "text": n.text, "created_at": n.created_at}
        for n in rows
    ]


@router.post("/notes", status_code=201, tags=["notes"])
def add_note(body: NoteIn, conn: Conn, who: CurrentPrincipal) -> dict[str, Any]:
    """A reviewer's or admin's note on a permit or a hazard."""
    import uuid

    require_role(who, Role.BUREAU_REVIEWER, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    if body.object_kind == "hazard":
        enterprise_id = _visible_hazard(conn, who, body.object_id).enterprise_id
    else:
        p = conn.execute(
            sa.select(permits.c.enterprise_id).where(permits.c.permit_id == body.object_id)
        ).first()
        if p is None:
            raise NotFound(_("not found"), code="NOT_FOUND")
        require_visible(conn, who, p.enterprise_id)
        enterprise_id = p.enterprise_id
    note = {
        "note_id": str(uuid.uuid4()),
        "enterprise_id": enterprise_id,
        "object_kind": body.object_kind,
        "object_id": body.object_id,
        "author_account_id": who.subject_id,
        "author": who.name,
        "text": body.text,
        "created_at": now_iso(),
    }
    conn.execute(notes.insert().values(**note))
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
