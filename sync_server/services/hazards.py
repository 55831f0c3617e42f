"""Major accident hazards (重大事故隐患): filing, the closed loop, overdue.

The loop's rules (which step follows which, who may verify) come from the permit core via
``domain.hazard_apply``; this module stores the hazard and its actions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.errors import NotFound, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import hazard_actions, hazards
from sync_server.storage import next_rev, now_iso, parse_iso

SOURCES = ("self_inspection", "bureau_inspection", "worker_report", "automatic")


def create(
    conn: Connection,
    *,
    enterprise_id: str,
    source: str,
    category: str,
    title: str,
    actor: str,
    space_id: str | None = None,
    permit_id: str | None = None,
    rule_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    hazard_id = str(uuid.uuid4())
    now = now_iso()
    state = domain.hazard_new(
        source=source,
        category=category,
        title=title,
        reported_by=actor,
        at=now,
        details=details or {},
    )
    conn.execute(
        hazards.insert().values(
            hazard_id=hazard_id,
            enterprise_id=enterprise_id,
            source=source,
            category=category,
            status=state["status"],
            title=title,
            space_id=space_id,
            permit_id=permit_id,
            rule_code=rule_code,
            deadline=None,
            data=state,
            rev=next_rev(conn),
            created_at=now,
            updated_at=now,
        )
    )
    _log(conn, enterprise_id, hazard_id, "report", actor, now, {"title": title, **(details or {})})
    return hazard_id


def _log(
    conn: Connection,
    enterprise_id: str,
    hazard_id: str,
    action: str,
    actor: str,
    at: str,
    data: dict[str, Any],
) -> None:
    seq = conn.execute(
        sa.select(sa.func.count())
        .select_from(hazard_actions)
        .where(hazard_actions.c.hazard_id == hazard_id)
    ).scalar_one()
    conn.execute(
        hazard_actions.insert().values(
            action_id=str(uuid.uuid4()),
            enterprise_id=enterprise_id,
            hazard_id=hazard_id,
            seq=int(seq) + 1,
            action=action,
            actor=actor,
            at=at,
            data=data,
        )
    )


def file_automatic(
    conn: Connection,
    enterprise_id: str,
    permit_id: str,
    space_id: str | None,
    code: str,
    facts: dict[str, Any],
    seq: int | None,
) -> str:
    """A rule violation found by the server's replay becomes a hazard, once per permit and
    code (MEM10 Art. 13 (二) for entry without approval, test or guardian)."""
    existing = conn.execute(
        sa.select(hazards.c.hazard_id).where(
            hazards.c.permit_id == permit_id,
            hazards.c.rule_code == code,
            hazards.c.source == "automatic",
        )
    ).first()
    if existing is not None:
        return str(existing.hazard_id)
    return create(
        conn,
        enterprise_id=enterprise_id,
        source="automatic",
        category=domain.hazard_category_for(code),
        title=domain.violation_title(code, facts),
        actor="server-replay",
        space_id=space_id,
        permit_id=permit_id,
        rule_code=code,
        details={"facts": facts, "seq": seq},
    )


def get(conn: Connection, hazard_id: str) -> Any:
    row = conn.execute(sa.select(hazards).where(hazards.c.hazard_id == hazard_id)).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def act(
    conn: Connection, hazard_id: str, action: str, actor: str, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    row = get(conn, hazard_id)
    now = now_iso()
    try:
        new_state = domain.hazard_apply(dict(row.data), action, data, actor, now)
    except domain.HazardRefused as exc:
        raise Unprocessable(exc.message, code=exc.code, field=exc.field) from exc
    conn.execute(
        hazards.update()
        .where(hazards.c.hazard_id == hazard_id)
        .values(
            status=new_state["status"],
            deadline=new_state.get("deadline"),
            data=new_state,
            rev=next_rev(conn),
            updated_at=now,
        )
    )
    _log(conn, row.enterprise_id, hazard_id, action, actor, now, data)
    return dict(row.data), new_state


def actions(conn: Connection, hazard_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(hazard_actions)
        .where(hazard_actions.c.hazard_id == hazard_id)
        .order_by(hazard_actions.c.seq)
    )
    return [
        {"seq": r.seq, "action": r.action, "actor": r.actor, "at": r.at, "data": r.data}
        for r in rows
    ]


def is_overdue(row: Any, now: datetime | None = None) -> bool:
    """Past the rectification deadline and not yet rectified: overdue (逾期未整改)."""
    if row.deadline is None or row.status in ("rectified", "verified", "closed"):
        return False
    return parse_iso(row.deadline) < (now or datetime.now(UTC))
