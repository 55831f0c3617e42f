"""A finding on a permit (``findings``, kept forever): what the server's replay, its
ledger cross-check or its linked-permit check found, one row written one way."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import Connection

from sync_server.schema import findings


def record(
    conn: Connection,
    enterprise_id: str,
    permit_id: str,
    seq: int | None,
    code: str,
    facts: dict[str, Any],
    now: str,
    hazard_id: str | None = None,
) -> None:
    """One finding row; ``seq`` None for a finding on the permit as a whole."""
    conn.execute(
        findings.insert().values(
            finding_id=str(uuid.uuid4()),
            enterprise_id=enterprise_id,
            permit_id=permit_id,
            seq=seq,
            code=code,
            facts=facts,
            hazard_id=hazard_id,
            created_at=now,
        )
    )
