"""The audit log: every admin and bureau write, with who, when, what, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from sync_server.schema import audit_log
from sync_server.security import Principal
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
