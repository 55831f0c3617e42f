"""Major accident hazards (重大事故隐患): filing, the closed loop, overdue.

A hazard is a fold over its own events (``permits.hazards``): this module stores the
events in ``hazard_actions`` and a folded view in ``hazards`` for listing; the loop's
rules (step order, the verifier is not the rectifier, a deadline in the future) are the
core's, applied through ``domain.hazard_step``.
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


def _store(conn: Connection, enterprise_id: str, hazard_id: str, event: dict[str, Any]) -> None:
    conn.execute(
        hazard_actions.insert().values(
            action_id=str(event["event_id"]),
            enterprise_id=enterprise_id,
            hazard_id=hazard_id,
            seq=int(event["seq"]),
            action=str(event["type"]),
            actor=str(event["actor"]),
            at=now_iso(parse_iso(str(event["occurred_at"]))),
            data=event,
        )
    )


def _events(conn: Connection, hazard_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(hazard_actions.c.data)
        .where(hazard_actions.c.hazard_id == hazard_id)
        .order_by(hazard_actions.c.seq)
    )
    return [r[0] for r in rows]


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
    description: str = "",
    permit_seq: int | None = None,
    details: dict[str, Any] | None = None,
    hazard_id: str | None = None,
) -> str:
    hazard_id = hazard_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        event = domain.hazard_report(
            hazard_id,
            enterprise_id=enterprise_id,
            source=source,
            title=title,
            clause=category,
            description=description,
            space_id=space_id,
            permit_id=permit_id,
            permit_seq=permit_seq,
            actor=actor,
            now=now,
        )
    except domain.HazardRefused as exc:
        raise Unprocessable(exc.message, code=exc.code, field=exc.field) from exc
    view = {**domain.hazard_view(domain.hazard_state([event]), now), "details": details or {}}
    conn.execute(
        hazards.insert().values(
            hazard_id=hazard_id,
            enterprise_id=enterprise_id,
            source=source,
            category=category,
            status=view["status"],
            title=title,
            space_id=space_id,
            permit_id=permit_id,
            rule_code=rule_code,
            deadline=None,
            data=view,
            rev=next_rev(conn),
            created_at=now_iso(now),
            updated_at=now_iso(now),
        )
    )
    _store(conn, enterprise_id, hazard_id, event)
    return hazard_id


def file_automatic(
    conn: Connection,
    enterprise_id: str,
    permit_id: str,
    space_id: str | None,
    violation: domain.Violation,
) -> str:
    """A violation found by the server's replay becomes a hazard, once per permit and code
    (MEM10 Art. 13 (二) for entry without approval, test, ventilation or guardian)."""
    existing = conn.execute(
        sa.select(hazards.c.hazard_id).where(
            hazards.c.permit_id == permit_id,
            hazards.c.rule_code == violation.code,
            hazards.c.source == "automatic",
        )
    ).first()
    if existing is not None:
        return str(existing.hazard_id)
    message = str(violation.facts.get("message") or violation.code)
    return create(
        conn,
        enterprise_id=enterprise_id,
        source="automatic",
        category=violation.category or "RULE_VIOLATION",
        title=message[:300],
        description=message,
        actor="server-replay",
        space_id=space_id,
        permit_id=permit_id,
        permit_seq=violation.seq,
        rule_code=violation.code,
        details={"facts": violation.facts, "seq": violation.seq},
    )


def get(conn: Connection, hazard_id: str) -> Any:
    row = conn.execute(sa.select(hazards).where(hazards.c.hazard_id == hazard_id)).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def act(
    conn: Connection,
    hazard_id: str,
    action: str,
    actor: str,
    data: dict[str, Any],
    now: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Append the next loop step; ``now`` is the server clock (tests may set it)."""
    row = get(conn, hazard_id)
    now = now or datetime.now(UTC)
    events = _events(conn, hazard_id)
    try:
        event = domain.hazard_step(events, action, data, actor, now)
    except domain.HazardRefused as exc:
        raise Unprocessable(exc.message, code=exc.code, field=exc.field) from exc
    state = domain.hazard_state([*events, event])
    view = {**domain.hazard_view(state, now), "details": row.data.get("details", {})}
    conn.execute(
        hazards.update()
        .where(hazards.c.hazard_id == hazard_id)
        .values(
            status=view["status"],
            deadline=now_iso(state.deadline) if state.deadline else None,
            data=view,
            rev=next_rev(conn),
            updated_at=now_iso(now),
        )
    )
    _store(conn, row.enterprise_id, hazard_id, event)
    return dict(row.data), view


def actions(conn: Connection, hazard_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(hazard_actions)
        .where(hazard_actions.c.hazard_id == hazard_id)
        .order_by(hazard_actions.c.seq)
    )
    return [
        {
            "seq": r.seq,
            "action": r.action,
            "actor": r.actor,
            "at": r.at,
            "payload": r.data.get("payload", {}),
        }
        for r in rows
    ]


def is_overdue(row: Any, now: datetime | None = None) -> bool:
    """Planned, past its rectification deadline and not yet rectified (逾期未整改)."""
    if row.deadline is None or row.status != "planned":
        return False
    return parse_iso(row.deadline) < (now or datetime.now(UTC))


def file_ledger_gaps(
    conn: Connection, enterprise_id: str, space_id: str, data: dict[str, Any]
) -> list[str]:
    """A ledger entry with no warning sign is MEM10 Art. 13 (一): file it once while open."""
    filed = []
    for code, facts, message in domain.ledger_gaps(data):
        if code != "LEDGER_NO_WARNING_SIGN":
            continue
        open_one = conn.execute(
            sa.select(hazards.c.hazard_id).where(
                hazards.c.enterprise_id == enterprise_id,
                hazards.c.space_id == space_id,
                hazards.c.rule_code == code,
                hazards.c.status != "closed",
            )
        ).first()
        if open_one is not None:
            continue
        filed.append(
            create(
                conn,
                enterprise_id=enterprise_id,
                source="automatic",
                category="MEM10 Art. 13 (一)",
                title=message[:300],
                description=message,
                actor="server-ledger-check",
                space_id=space_id,
                rule_code=code,
                details={"facts": facts},
            )
        )
    return filed
