"""The audit log, and the read-only feed for a provincial aggregator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sync_server.deps import Conn, CurrentPrincipal
from sync_server.services import audit
from sync_server.services import feed as feed_service
from sync_server.storage import DB_INT4_MAX, DB_INT_MAX

router = APIRouter(prefix="/api/v1", tags=["audit", "feed"])


@router.get("/audit")
def list_audit(
    conn: Conn,
    who: CurrentPrincipal,
    enterprise_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=DB_INT4_MAX, description="page back from this id")
    ] = None,
) -> dict[str, Any]:
    """Every admin and bureau write: who, when, what, before, after (newest first)."""
    return audit.entries(conn, who, enterprise_id=enterprise_id, limit=limit, before_id=before_id)


@router.get("/feed", tags=["feed"])
def feed(
    conn: Conn,
    who: CurrentPrincipal,
    cursor: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Permits and hazards changed after ``cursor``, oldest change first, for a provincial
    aggregator (role ``aggregator``, read-only, scoped to its jurisdiction code). Call again
    with the returned ``cursor`` until ``more`` is false."""
    return feed_service.changes(conn, who, cursor, limit)
