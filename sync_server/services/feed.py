"""The read-only feed for a provincial aggregator: permits and hazards as they change."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import hazards, permits
from sync_server.security import Principal, Role
from sync_server.services.permits import item_of
from sync_server.services.reference import hazard_summary
from sync_server.services.tenancy import require_role, scope_filter, visible_enterprises


def changes(conn: Connection, who: Principal, cursor: int, limit: int) -> dict[str, Any]:
    """Permits and hazards changed after ``cursor``, oldest change first; call again with
    the returned ``cursor`` until ``more`` is false."""
    require_role(who, Role.AGGREGATOR, Role.BUREAU_REVIEWER, Role.OPERATOR)
    scope = visible_enterprises(conn, who)

    def changed(table: sa.Table) -> list[Any]:
        return list(
            conn.execute(
                sa.select(table)
                .where(scope_filter(table.c.enterprise_id, scope), table.c.rev > cursor)
                .order_by(table.c.rev)
                .limit(limit + 1)
            )
        )

    p_rows, h_rows = changed(permits), changed(hazards)
    merged: list[tuple[int, str, Any]] = sorted(
        [(r.rev, "permit", r) for r in p_rows] + [(r.rev, "hazard", r) for r in h_rows],
        key=lambda t: t[0],
    )
    more = len(merged) > limit
    merged = merged[:limit]
    items = [
        {
            "kind": kind,
            "rev": rev,
            "data": item_of(r).model_dump() if kind == "permit" else hazard_summary(r),
        }
        for rev, kind, r in merged
    ]
    return {"items": items, "cursor": merged[-1][0] if merged else cursor, "more": more}
