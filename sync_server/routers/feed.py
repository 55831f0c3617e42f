"""The audit log, and the read-only feed for a provincial aggregator."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query

from sync_server.deps import Conn, CurrentPrincipal
from sync_server.routers.permits import item_of
from sync_server.schema import audit_log, hazards, permits
from sync_server.security import Role
from sync_server.services.reference import hazard_summary
from sync_server.services.tenancy import require_role, scope_filter, visible_enterprises

router = APIRouter(prefix="/api/v1", tags=["audit", "feed"])


@router.get("/audit")
def list_audit(
    conn: Conn,
    who: CurrentPrincipal,
    enterprise_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, description="page back from this id")] = None,
) -> dict[str, Any]:
    """Every admin and bureau write: who, when, what, before, after (newest first)."""
    require_role(who, Role.OPERATOR, Role.ENTERPRISE_ADMIN, Role.BUREAU_REVIEWER)
    scope = visible_enterprises(conn, who)
    conds: list[Any] = []
    if scope is not None:
        conds.append(audit_log.c.enterprise_id.in_(scope))
    if enterprise_id:
        conds.append(audit_log.c.enterprise_id == enterprise_id)
    if before_id:
        conds.append(audit_log.c.audit_id < before_id)
    rows = list(
        conn.execute(
            sa.select(audit_log).where(*conds).order_by(audit_log.c.audit_id.desc()).limit(limit)
        )
    )
    return {
        "items": [
            {
                "audit_id": r.audit_id,
                "enterprise_id": r.enterprise_id,
                "at": r.at,
                "actor": r.actor,
                "actor_role": r.actor_role,
                "action": r.action,
                "object_kind": r.object_kind,
                "object_id": r.object_id,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ],
        "next_before_id": rows[-1].audit_id if len(rows) == limit else None,
    }


@router.get("/feed", tags=["feed"])
def feed(
    conn: Conn,
    who: CurrentPrincipal,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Permits and hazards changed after ``cursor``, oldest change first, for a provincial
    aggregator (role ``aggregator``, read-only, scoped to its jurisdiction code). Call again
    with the returned ``cursor`` until ``more`` is false."""
    require_role(who, Role.AGGREGATOR, Role.BUREAU_REVIEWER, Role.OPERATOR)
    scope = visible_enterprises(conn, who)
    p_rows = list(
        conn.execute(
            sa.select(permits)
            .where(scope_filter(permits.c.enterprise_id, scope), permits.c.rev > cursor)
            .order_by(permits.c.rev)
            .limit(limit + 1)
        )
    )
    h_rows = list(
        conn.execute(
            sa.select(hazards)
            .where(scope_filter(hazards.c.enterprise_id, scope), hazards.c.rev > cursor)
            .order_by(hazards.c.rev)
            .limit(limit + 1)
        )
    )
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
