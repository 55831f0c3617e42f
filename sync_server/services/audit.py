"""The audit log: every admin and bureau write, with who, when, what, before and after."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import audit_log
from sync_server.security import Principal, Role
from sync_server.services.tenancy import require_role, visible_enterprises
from sync_server.storage import now_iso


def record(
    conn: Connection,
    who: Principal,
    action: str,
    object_kind: str,
    object_id: str,
    *,
    enterprise_id: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    conn.execute(
        audit_log.insert().values(
            enterprise_id=enterprise_id,
            at=now_iso(),
            actor_account_id=None if who.is_device else who.subject_id,
            actor=who.name,
            actor_role=who.role.value,
            action=action,
            object_kind=object_kind,
            object_id=object_id,
            before=before,
            after=after,
        )
    )


def entries(
    conn: Connection,
    who: Principal,
    *,
    enterprise_id: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> dict[str, Any]:
    """Every admin and bureau write in the caller's scope: who, when, what, before,
    after (newest first), paged back by ``before_id``."""
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


def of_object(conn: Connection, enterprise_id: str, object_kind: str, object_id: str) -> list[Any]:
    """Every entry on one object of one enterprise, oldest first (a record's history
    where the audit log is where its versions are kept)."""
    return list(
        conn.execute(
            sa.select(audit_log)
            .where(
                audit_log.c.enterprise_id == enterprise_id,
                audit_log.c.object_kind == object_kind,
                audit_log.c.object_id == object_id,
            )
            .order_by(audit_log.c.audit_id)
        )
    )


def by_roles(
    conn: Connection, action: str, object_kind: str, object_id: str, roles: tuple[Role, ...]
) -> list[dict[str, Any]]:
    """The entries of one action on one object written by an account of ``roles``, oldest
    first: how a page shows what the bureau did (the role is the writer's, recorded by
    the server, never read from any text the writer typed)."""
    rows = conn.execute(
        sa.select(audit_log)
        .where(
            audit_log.c.action == action,
            audit_log.c.object_kind == object_kind,
            audit_log.c.object_id == object_id,
            audit_log.c.actor_role.in_([r.value for r in roles]),
        )
        .order_by(audit_log.c.audit_id)
    )
    return [
        {
            "author": r.actor,
            "role": r.actor_role,
            "created_at": r.at,
            "text": (r.after or {}).get("text", "") if isinstance(r.after, dict) else "",
        }
        for r in rows
    ]
