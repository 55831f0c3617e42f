"""Names shown instead of ids: the confined spaces of the enterprises a reader sees, by
(enterprise, space id), for the permit list, the dashboard and the hazard pages."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import reference_items
from sync_server.security import Principal
from sync_server.services.reference import Kind
from sync_server.services.tenancy import scope_filter, visible_enterprises


def space_names(conn: Connection, who: Principal) -> dict[tuple[str, str], str]:
    """Every space in the reader's scope: (enterprise_id, space_id) → its ledger name (a
    deleted space keeps its name: old permits still name it)."""
    t = reference_items.c
    rows = conn.execute(
        sa.select(t.enterprise_id, t.item_id, t.data).where(
            t.kind == Kind.SPACE.value,
            scope_filter(t.enterprise_id, visible_enterprises(conn, who)),
        )
    )
    return {
        (r.enterprise_id, r.item_id): str((r.data or {}).get("name") or r.item_id) for r in rows
    }


def person_names(conn: Connection, who: Principal) -> dict[str, dict[str, str]]:
    """Every person in the reader's scope by enterprise: {enterprise_id: {person_id:
    name}}, to show the name where a stored record names the person by id."""
    t = reference_items.c
    rows = conn.execute(
        sa.select(t.enterprise_id, t.item_id, t.data).where(
            t.kind == Kind.PERSON.value,
            scope_filter(t.enterprise_id, visible_enterprises(conn, who)),
        )
    )
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        out.setdefault(r.enterprise_id, {})[r.item_id] = str(
            (r.data or {}).get("name") or r.item_id
        )
    return out


def ledger_people(conn: Connection, enterprise_id: str) -> dict[str, dict[str, str]]:
    """One enterprise's people as the trace's roster shape ({person_id: {"name"}})."""
    t = reference_items.c
    rows = conn.execute(
        sa.select(t.item_id, t.data).where(
            t.kind == Kind.PERSON.value, t.enterprise_id == enterprise_id
        )
    )
    return {r.item_id: {"name": str((r.data or {}).get("name") or r.item_id)} for r in rows}
